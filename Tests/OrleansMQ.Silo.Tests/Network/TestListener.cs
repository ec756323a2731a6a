using Microsoft.Extensions.Logging;
using OrleansMQ.Silo.Kafka.Network;
using Xunit;
using Xunit.Abstractions;

namespace OrleansMQ.Silo.Tests.Network;

/// <summary>Boots a real listener on 127.0.0.1, port 0, with a test processor.</summary>
internal static class TestListener
{
    public static async Task<KafkaListener> StartAsync(
        IKafkaRequestProcessor processor,
        Action<KafkaListenerOptions>? configure = null,
        ILogger<KafkaListener>? logger = null)
    {
        var options = new KafkaListenerOptions { BindAddress = "127.0.0.1", Port = 0 };
        configure?.Invoke(options);
        var listener = new KafkaListener(options, processor, logger);
        await listener.StartAsync();
        return listener;
    }

    /// <summary>Polls until <paramref name="condition"/> holds; fails after <paramref name="timeout"/>.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"timed out waiting until {what}");
            }

            await Task.Delay(10);
        }
    }
}

/// <summary>Keeps log entries for assertions and echoes them to the test output.</summary>
internal sealed class CapturingLogger<T>(ITestOutputHelper? output = null) : ILogger<T>
{
    private readonly List<(LogLevel Level, EventId Id, string Message)> _entries = [];

    public IReadOnlyList<(LogLevel Level, EventId Id, string Message)> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        string message = formatter(state, exception);
        lock (_entries)
        {
            _entries.Add((logLevel, eventId, message));
        }

        try
        {
            output?.WriteLine($"[{logLevel}] {message}{(exception is null ? string.Empty : " " + exception.GetType().Name + ": " + exception.Message)}");
        }
        catch (InvalidOperationException)
        {
            // The test has finished; its output helper no longer accepts lines.
        }
    }
}
