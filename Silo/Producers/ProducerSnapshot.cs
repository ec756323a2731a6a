namespace OrleansMQ.Silo.Producers;

/// <summary>One idempotent producer's state in a partition, as DescribeProducers reports it.</summary>
/// <param name="ProducerId">The id InitProducerId gave it.</param>
/// <param name="Epoch">Its current epoch.</param>
/// <param name="LastSequence">The sequence of its last appended record.</param>
/// <param name="LastTimestamp">The max timestamp of its last batch (-1: none).</param>
public readonly record struct ProducerSnapshot(long ProducerId, short Epoch, int LastSequence, long LastTimestamp);
