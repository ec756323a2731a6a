using System.Buffers;
using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using OrleansMQ.Silo.Kafka.Network;
using Xunit;

namespace OrleansMQ.Silo.Tests.Network;

/// <summary>Answers every frame with the frame itself.</summary>
internal sealed class EchoProcessor : IKafkaRequestProcessor
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public ValueTask ProcessAsync(ConnectionContext connection, ReadOnlyMemory<byte> frame, KafkaResponse response, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        response.Write(frame.Span);
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// Echoes after a delay that depends on the frame (its first int32), so later requests often
/// finish before earlier ones; tracks how many overlap. Reads the frame only after the delay, so
/// it also proves the frame memory stays valid until the ValueTask completes.
/// </summary>
internal sealed class ScrambledDelayProcessor : IKafkaRequestProcessor
{
    private int _running;
    private int _maxRunning;

    public int MaxConcurrent => Volatile.Read(ref _maxRunning);

    public async ValueTask ProcessAsync(ConnectionContext connection, ReadOnlyMemory<byte> frame, KafkaResponse response, CancellationToken cancellationToken)
    {
        int running = Interlocked.Increment(ref _running);
        int max;
        while (running > (max = Volatile.Read(ref _maxRunning)) && Interlocked.CompareExchange(ref _maxRunning, running, max) != max)
        {
        }

        try
        {
            int index = BinaryPrimitives.ReadInt32BigEndian(frame.Span);
            int delayMs = (int)((uint)(index * 7919) % 6);
            if (delayMs > 0)
            {
                await Task.Delay(delayMs, cancellationToken);
            }

            response.Write(frame.Span);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }
}

/// <summary>Starts every request and never finishes it until cancelled.</summary>
internal sealed class NeverCompletingProcessor : IKafkaRequestProcessor
{
    private int _calls;
    private int _cancelled;

    public int Calls => Volatile.Read(ref _calls);

    public int Cancelled => Volatile.Read(ref _cancelled);

    public async ValueTask ProcessAsync(ConnectionContext connection, ReadOnlyMemory<byte> frame, KafkaResponse response, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref _cancelled);
            throw;
        }
    }
}

/// <summary>Holds every request until <see cref="Release"/>, then echoes.</summary>
internal sealed class GatedProcessor : IKafkaRequestProcessor
{
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Started => _started.Task;

    public void Release() => _gate.TrySetResult();

    public async ValueTask ProcessAsync(ConnectionContext connection, ReadOnlyMemory<byte> frame, KafkaResponse response, CancellationToken cancellationToken)
    {
        _started.TrySetResult();
        await _gate.Task.WaitAsync(cancellationToken);
        response.Write(frame.Span);
    }
}

/// <summary>
/// Echoes, except: a frame starting with "boom" throws (as a processor does on a frame with no
/// readable header), and one starting with a zero byte gets a suppressed (acks=0) response.
/// </summary>
internal sealed class PickyProcessor : IKafkaRequestProcessor
{
    public ValueTask ProcessAsync(ConnectionContext connection, ReadOnlyMemory<byte> frame, KafkaResponse response, CancellationToken cancellationToken)
    {
        if (frame.Span.StartsWith("boom"u8))
        {
            throw new InvalidOperationException("malformed request header");
        }

        if (!frame.IsEmpty && frame.Span[0] == 0)
        {
            response.Suppressed = true;
            return ValueTask.CompletedTask;
        }

        response.Write(frame.Span);
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// Answers "HDR!" + the request's first 4 bytes, then a region of a file (spliced in as a
/// <see cref="FileRegion"/>), then "END!" — the shape of a Fetch response.
/// </summary>
internal sealed class FileRegionProcessor(SafeFileHandle file, long offset, int length) : IKafkaRequestProcessor
{
    private int _released;

    public int Released => Volatile.Read(ref _released);

    public ValueTask ProcessAsync(ConnectionContext connection, ReadOnlyMemory<byte> frame, KafkaResponse response, CancellationToken cancellationToken)
    {
        response.Write("HDR!"u8);
        response.Write(frame.Span[..4]);
        response.AddFileRegion(new FileRegion(file, offset, length, static state => Interlocked.Increment(ref ((FileRegionProcessor)state!)._released), this));
        response.Write("END!"u8);
        return ValueTask.CompletedTask;
    }

    public static byte[] Expected(ReadOnlySpan<byte> requestPrefix, ReadOnlySpan<byte> fileBytes)
    {
        var expected = new byte[8 + fileBytes.Length + 4];
        "HDR!"u8.CopyTo(expected);
        requestPrefix[..4].CopyTo(expected.AsSpan(4));
        fileBytes.CopyTo(expected.AsSpan(8));
        "END!"u8.CopyTo(expected.AsSpan(8 + fileBytes.Length));
        return expected;
    }
}
