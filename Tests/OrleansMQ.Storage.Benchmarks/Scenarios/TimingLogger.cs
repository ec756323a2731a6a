using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace OrleansMQ.Storage.Benchmarks.Scenarios;

/// <summary>
/// Records when each engine log message was written, relative to creation: recovery logs one
/// message when the CommitLog scan ends and one when the engine is ready, which splits the open
/// time into CommitLog validation and the rest (queues, index, re-dispatch).
/// </summary>
internal sealed class TimingLoggerFactory : ILoggerFactory
{
    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly List<(TimeSpan At, string Category, string Message)> _events = new();
    private readonly Lock _lock = new();

    public IReadOnlyList<(TimeSpan At, string Category, string Message)> Events
    {
        get
        {
            lock (_lock)
            {
                return _events.ToArray();
            }
        }
    }

    /// <summary>Time of the first message whose text starts with <paramref name="prefix"/>, or null.</summary>
    public TimeSpan? FirstAt(string prefix) =>
        Events.Where(e => e.Message.StartsWith(prefix, StringComparison.Ordinal)).Select(e => (TimeSpan?)e.At).FirstOrDefault();

    public ILogger CreateLogger(string categoryName) => new TimingLogger(this, categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private void Add(string category, string message)
    {
        var at = Stopwatch.GetElapsedTime(_start);
        lock (_lock)
        {
            _events.Add((at, category, message));
        }
    }

    private sealed class TimingLogger(TimingLoggerFactory owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                owner.Add(category, formatter(state, exception));
            }
        }
    }
}
