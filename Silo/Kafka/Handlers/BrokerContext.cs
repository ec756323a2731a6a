using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Silo.Hosting;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Producers;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Storage;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Kafka.Handlers;

/// <summary>Everything a request handler reaches: storage, topics, groups, producer ids, broker identity.</summary>
public sealed class BrokerContext
{
    private readonly ConcurrentDictionary<int, ProducerStateTable> _producerStates = new();

    public BrokerContext(StorageEngine storage, TopicService topics, GroupService groups, ProducerIdAllocator producerIds, BrokerSettings settings, string clusterId, ILoggerFactory loggerFactory, TimeProvider? time = null)
    {
        Groups = groups;
        Storage = storage;
        Topics = topics;
        ProducerIds = producerIds;
        Settings = settings;
        ClusterId = clusterId;
        LoggerFactory = loggerFactory;
        Time = time ?? TimeProvider.System;
    }

    public StorageEngine Storage { get; }

    public TopicService Topics { get; }

    public GroupService Groups { get; }

    public ProducerIdAllocator ProducerIds { get; }

    public BrokerSettings Settings { get; }

    public string ClusterId { get; }

    public ILoggerFactory LoggerFactory { get; }

    public TimeProvider Time { get; }

    public int NodeId => Settings.NodeId;

    public string AdvertisedHost => Settings.EffectiveAdvertisedHost;

    /// <summary>Set once the listener is bound (port 0 picks one).</summary>
    public int AdvertisedPort { get; set; }

    public ProducerStateTable ProducerState(PartitionLog partition) => _producerStates.GetOrAdd(partition.Id, static _ => new ProducerStateTable());

    /// <summary>The Kafka error for a storage refusal.</summary>
    public static ErrorCode ToErrorCode(StorageError error) => error switch
    {
        StorageError.CorruptBatch => ErrorCode.CorruptMessage,
        StorageError.MessageTooLarge => ErrorCode.MessageTooLarge,
        StorageError.UnknownPartition => ErrorCode.UnknownTopicOrPartition,
        _ => ErrorCode.KafkaStorageError,
    };

    public static ErrorCode ToErrorCode(TopicError error) => error switch
    {
        TopicError.None => ErrorCode.None,
        TopicError.InvalidTopic => ErrorCode.InvalidTopicException,
        TopicError.AlreadyExists => ErrorCode.TopicAlreadyExists,
        TopicError.UnknownTopic => ErrorCode.UnknownTopicOrPartition,
        TopicError.InvalidPartitions => ErrorCode.InvalidPartitions,
        TopicError.InvalidReplicationFactor => ErrorCode.InvalidReplicationFactor,
        TopicError.InvalidConfig => ErrorCode.InvalidConfig,
        TopicError.Unavailable => ErrorCode.RequestTimedOut,
        _ => ErrorCode.UnknownServerError,
    };
}
