using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Providers.Streams.Common;
using Orleans.Serialization;
using Orleans.Streams;
using OrleansMQ.Client;
using OrleansMQ.Client.Admin;
using OrleansMQ.Client.Producer;
using OrleansMQ.Protocol;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Streaming.Providers;

/// <summary>
/// Builds the pieces of one OrleansMQ stream provider: the queue mapper (queue = topic partition), the
/// queue cache (Orleans' simple cache keeping delivered batches for
/// <see cref="OrleansMQStreamOptions.CacheRetention"/>), the adapter (producer side; it first makes sure
/// every topic exists with <see cref="OrleansMQStreamOptions.Partitions"/> partitions) and one receiver per queue. The delivery
/// failure handler is the <see cref="IStreamFailureHandler"/> registered under the provider's name as a
/// keyed service, else one that does nothing (the receiver logs every failure).
/// </summary>
public sealed class OrleansMQAdapterFactory : IQueueAdapterFactory
{
    private readonly string _name;
    private readonly OrleansMQStreamOptions _options;
    private readonly IServiceProvider _services;
    private readonly Serializer _serializer;
    private readonly ILoggerFactory _loggerFactory;
    private readonly OrleansMQQueueMapper _mapper;
    private readonly RetainingQueueAdapterCache _cache;

    private OrleansMQAdapterFactory(string name, OrleansMQStreamOptions options, SimpleQueueCacheOptions cacheOptions, IServiceProvider services)
    {
        _name = name;
        _options = options;
        _services = services;
        _serializer = services.GetRequiredService<Serializer>();
        _loggerFactory = services.GetRequiredService<ILoggerFactory>();
        _mapper = new OrleansMQQueueMapper(options, name);
        _cache = new RetainingQueueAdapterCache(cacheOptions.CacheSize, options.CacheRetention, name, _loggerFactory);
    }

    /// <summary>The factory Orleans calls for the provider <paramref name="name"/> (registered by the hosting extensions).</summary>
    public static OrleansMQAdapterFactory Create(IServiceProvider services, string name)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.GetRequiredService<IOptionsMonitor<OrleansMQStreamOptions>>().Get(name);
        options.Validate(name);
        var cacheOptions = services.GetRequiredService<IOptionsMonitor<SimpleQueueCacheOptions>>().Get(name);
        return new OrleansMQAdapterFactory(name, options, cacheOptions, services);
    }

    /// <inheritdoc />
    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task<IQueueAdapter> CreateAdapter() => CreateAdapter(CancellationToken.None);

    /// <inheritdoc />
    public async Task<IQueueAdapter> CreateAdapter(CancellationToken cancellationToken)
    {
        var client = new ClientOptions { BootstrapServers = _options.BootstrapServers, ClientId = _options.ClientId };
        await EnsureTopicsAsync(client, cancellationToken).ConfigureAwait(false);
        var producer = new KafkaProducer(client, new ProducerOptions
        {
            Acks = _options.Acks,
            BatchSize = _options.BatchSize,
            Linger = _options.Linger,
            AllowAutoCreateTopics = false, // topics are created above with the right partition count
        });
        return new OrleansMQAdapter(_name, _options, _mapper, _serializer, producer, CreateReceiver);
    }

    /// <inheritdoc />
    public IQueueAdapterCache GetQueueAdapterCache() => _cache;

    /// <inheritdoc />
    public IStreamQueueMapper GetStreamQueueMapper() => _mapper;

    /// <inheritdoc />
    public Task<IStreamFailureHandler> GetDeliveryFailureHandler(QueueId queueId) =>
        Task.FromResult(_services.GetKeyedService<IStreamFailureHandler>(_name) ?? new NoOpStreamDeliveryFailureHandler());

    private OrleansMQReceiver CreateReceiver(QueueId queueId)
    {
        var (topic, partition) = _mapper.PartitionOf(queueId);
        return new OrleansMQReceiver(
            _name,
            _options,
            new TopicPartition(topic, partition),
            _serializer,
            () => GetDeliveryFailureHandler(queueId),
            _loggerFactory.CreateLogger($"{typeof(OrleansMQReceiver).FullName}.{_name}"));
    }

    private async Task EnsureTopicsAsync(ClientOptions client, CancellationToken cancellationToken)
    {
        await using var admin = new KafkaAdminClient(client);
        foreach (var topic in _mapper.Topics)
        {
            int partitions = await PartitionCountAsync(admin, topic, cancellationToken).ConfigureAwait(false);
            if (partitions < 0)
            {
                if (!_options.CreateTopics)
                {
                    throw new InvalidOperationException($"Stream provider '{_name}': topic '{topic}' does not exist and CreateTopics is off.");
                }

                try
                {
                    await admin.CreateTopicAsync(new NewTopic(topic, _options.Partitions, _options.ReplicationFactor), cancellationToken: cancellationToken).ConfigureAwait(false);
                    partitions = _options.Partitions;
                }
                catch (KafkaException ex) when (ex.ErrorCode == ErrorCode.TopicAlreadyExists)
                {
                    // Another silo created it first.
                    partitions = await PartitionCountAsync(admin, topic, cancellationToken).ConfigureAwait(false);
                }
            }

            if (partitions != _options.Partitions)
            {
                // Streams map to partitions by murmur2 % Partitions: another count would send a stream's
                // events to a queue no agent reads for it.
                throw new InvalidOperationException($"Stream provider '{_name}': topic '{topic}' has {partitions} partitions; the provider is configured with {_options.Partitions}.");
            }
        }
    }

    private static async Task<int> PartitionCountAsync(KafkaAdminClient admin, string topic, CancellationToken cancellationToken)
    {
        try
        {
            var description = await admin.DescribeTopicAsync(topic, cancellationToken).ConfigureAwait(false);
            return description.Partitions.Count;
        }
        catch (KafkaException ex) when (ex.ErrorCode == ErrorCode.UnknownTopicOrPartition)
        {
            return -1;
        }
    }
}
