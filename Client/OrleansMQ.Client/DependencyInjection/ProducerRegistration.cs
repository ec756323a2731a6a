using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OrleansMQ.Client.Cluster;
using OrleansMQ.Client.Producer;

namespace OrleansMQ.Client.DependencyInjection;

/// <summary>Producer registration on the shared client.</summary>
public static class ProducerRegistration
{
    /// <summary>
    /// Registers one <see cref="KafkaProducer"/> singleton over the shared <see cref="KafkaCluster"/>
    /// with <paramref name="configure"/> applied to the default <see cref="ProducerOptions"/>. A
    /// producer is thread-safe and batches across callers, so one per application is the rule
    /// (as with Kafka's Java client). The container flushes and closes it when disposed.
    /// </summary>
    public static IOrleansMQClientBuilder AddOrleansMQProducer(this IOrleansMQClientBuilder builder, Func<ProducerOptions, ProducerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = configure?.Invoke(new ProducerOptions()) ?? new ProducerOptions();
        builder.Services.TryAddSingleton(options);
        builder.Services.TryAddSingleton(sp => new KafkaProducer(sp.GetRequiredService<KafkaCluster>(), sp.GetRequiredService<ProducerOptions>()));
        return builder;
    }
}
