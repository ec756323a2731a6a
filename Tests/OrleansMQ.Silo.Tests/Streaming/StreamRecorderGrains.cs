using System.Collections.Concurrent;
using Orleans;
using Orleans.Runtime;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace OrleansMQ.Silo.Tests.Streaming;

/// <summary>
/// What the subscriber grains received, per stream key, in arrival order. Static because the Orleans
/// silos run in the test process and it must outlive a stopped and restarted cluster.
/// </summary>
public static class StreamEventLog
{
    private static readonly ConcurrentDictionary<string, List<(int Value, StreamSequenceToken? Token)>> Received = new(StringComparer.Ordinal);
    private static readonly ConcurrentQueue<string> Errors = new();

    public static void Record(string streamKey, int value, StreamSequenceToken? token)
    {
        var list = Received.GetOrAdd(streamKey, _ => []);
        lock (list)
        {
            list.Add((value, token));
        }
    }

    public static void RecordError(string streamKey, Exception ex) => Errors.Enqueue(streamKey + ": " + ex);

    public static IReadOnlyCollection<string> ErrorsSeen => Errors;

    public static List<(int Value, StreamSequenceToken? Token)> Get(string streamKey)
    {
        if (!Received.TryGetValue(streamKey, out var list))
        {
            return [];
        }

        lock (list)
        {
            return [.. list];
        }
    }
}

public interface IStreamRecorderGrain : IGrainWithStringKey
{
}

/// <summary>Implicitly subscribed to every stream of <see cref="OrleansMQStreamingTests.Namespace"/>; records each event with its token.</summary>
[ImplicitStreamSubscription(OrleansMQStreamingTests.Namespace)]
public sealed class StreamRecorderGrain : Grain, IStreamRecorderGrain, IStreamSubscriptionObserver, IAsyncObserver<int>
{
    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory)
    {
        ArgumentNullException.ThrowIfNull(handleFactory);
        await handleFactory.Create<int>().ResumeAsync(this).ConfigureAwait(true);
    }

    public Task OnNextAsync(int item, StreamSequenceToken? token = null)
    {
        StreamEventLog.Record(this.GetPrimaryKeyString(), item, token);
        return Task.CompletedTask;
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex)
    {
        StreamEventLog.RecordError(this.GetPrimaryKeyString(), ex);
        return Task.CompletedTask;
    }
}

/// <summary>The delivery failure handler the tests register for the provider: remembers what it was told.</summary>
public sealed class RecordingFailureHandler : IStreamFailureHandler
{
    public static readonly ConcurrentQueue<(StreamId Stream, StreamSequenceToken? Token)> Failures = new();

    public bool ShouldFaultSubsriptionOnError => false;

    public Task OnDeliveryFailure(GuidId subscriptionId, string streamProviderName, StreamId streamIdentity, StreamSequenceToken? sequenceToken)
    {
        Failures.Enqueue((streamIdentity, sequenceToken));
        return Task.CompletedTask;
    }

    public Task OnSubscriptionFailure(GuidId subscriptionId, string streamProviderName, StreamId streamIdentity, StreamSequenceToken? sequenceToken) => Task.CompletedTask;
}

public interface IRewindSubscriberGrain : IGrainWithStringKey
{
    /// <summary>Adds an explicit subscription to the stream named by this grain's key (from <paramref name="token"/>, or from now on); its events go to the log as "key#n", n counting subscriptions.</summary>
    Task SubscribeAsync(StreamSequenceToken? token);
}

/// <summary>Explicitly subscribes to streams of <see cref="Namespace"/> (no implicit subscriber there) to test resuming from tokens.</summary>
public sealed class RewindSubscriberGrain : Grain, IRewindSubscriberGrain
{
    public const string Namespace = "omq-test-rewind";
    private int _subscriptions;

    public async Task SubscribeAsync(StreamSequenceToken? token)
    {
        string key = this.GetPrimaryKeyString();
        string log = key + "#" + (++_subscriptions).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var stream = this.GetStreamProvider("omq").GetStream<int>(StreamId.Create(Namespace, key));
        Task OnNext(int item, StreamSequenceToken? itemToken)
        {
            StreamEventLog.Record(log, item, itemToken);
            return Task.CompletedTask;
        }

        Task OnError(Exception ex)
        {
            StreamEventLog.RecordError(log, ex);
            return Task.CompletedTask;
        }

        _ = token is null
            ? await stream.SubscribeAsync(OnNext, OnError).ConfigureAwait(true)
            : await stream.SubscribeAsync(OnNext, OnError, token).ConfigureAwait(true);
    }
}
