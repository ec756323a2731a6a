using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace OrleansMQ.Storage.Tests;

/// <summary>A fresh folder under the temp path, deleted with everything in it when the test ends.</summary>
public class TempDir : IDisposable
{
    public TempDir()
        : this("omq-tests")
    {
    }

    protected TempDir(string prefix)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), prefix + "-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Keeps every log record so tests can check that damage was reported.</summary>
internal sealed class ListLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Records { get; } = new();

    public IEnumerable<string> Warnings => Records.Where(r => r.Level == LogLevel.Warning).Select(r => r.Message);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Records.Enqueue((logLevel, formatter(state, exception)));
}

/// <summary>Hands one <see cref="ListLogger"/> to every category, so an engine's whole log can be checked.</summary>
internal sealed class ListLoggerFactory : ILoggerFactory
{
    public ListLogger Logger { get; } = new();

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public ILogger CreateLogger(string categoryName) => Logger;

    public void Dispose()
    {
    }
}
