using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using OrleansMQ.Client.Consumer;

namespace OrleansMQ.Client.DependencyInjection;

/// <summary>Consumer registration on the shared client.</summary>
public static class ConsumerRegistration
{
    /// <summary>
    /// Registers a <see cref="KafkaConsumer"/> singleton whose connection settings are the shared
    /// <see cref="ClientOptions"/> and whose group settings come from <paramref name="configure"/>
    /// (e.g. <c>c =&gt; c with { GroupId = "billing" }</c>). A consumer is one group member with
    /// its own connections (as in Kafka's clients); applications needing several members create
    /// them with <c>new KafkaConsumer(...)</c>. The container closes it (commit, leave) when disposed.
    /// </summary>
    public static IOrleansMQClientBuilder AddOrleansMQConsumer(this IOrleansMQClientBuilder builder, Func<ConsumerOptions, ConsumerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.TryAddSingleton(sp =>
        {
            var options = configure(new ConsumerOptions()) with { Client = sp.GetRequiredService<ClientOptions>() };
            return new KafkaConsumer(options, sp.GetService<ILogger<KafkaConsumer>>());
        });
        return builder;
    }
}
