using OrleansMQ.Client.Consumer;

namespace OrleansMQ.Silo.Http.Consumers;

/// <summary>The embedded format of a consumer instance: how keys and values are rendered in records answers.</summary>
internal enum RestFormat
{
    /// <summary>base64 strings (<c>application/vnd.kafka.binary.v2+json</c>).</summary>
    Binary,

    /// <summary>The bytes are JSON text, embedded as JSON (<c>application/vnd.kafka.json.v2+json</c>).</summary>
    Json,
}

/// <summary>
/// A consumer instance's settings from <c>POST /consumers/{group}</c>. <see cref="ResponseMinBytes"/> is REST
/// Proxy's <c>fetch.min.bytes</c>: the bytes a records request waits for (not Kafka's fetch.min.bytes).
/// </summary>
internal sealed record RestConsumerConfig(string Name, RestFormat Format, AutoOffsetReset AutoOffsetReset, bool AutoCommit, long ResponseMinBytes, int RequestTimeoutMs);

/// <summary>A REST Proxy error: HTTP status, REST Proxy <c>error_code</c>, problem title and detail.</summary>
internal sealed class RestConsumerException : Exception
{
    public RestConsumerException()
    {
        Title = "Error";
    }

    public RestConsumerException(string message)
        : base(message)
    {
        Title = "Error";
    }

    public RestConsumerException(string message, Exception innerException)
        : base(message, innerException)
    {
        Title = "Error";
    }

    public RestConsumerException(int status, int errorCode, string title, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Status = status;
        ErrorCode = errorCode;
        Title = title;
    }

    public int Status { get; } = 500;

    public int ErrorCode { get; } = 50002;

    public string Title { get; }

    public static RestConsumerException NotFound() =>
        new(404, 40403, "Consumer instance not found", "Consumer instance not found.");

    public static RestConsumerException IllegalState(string message) =>
        new(409, 40903, "Illegal state", "Illegal state: " + message);

    public static RestConsumerException Invalid(string message) =>
        new(422, 42204, "Invalid consumer configuration", "Invalid consumer configuration: " + message);

    public static RestConsumerException Unprocessable(string message) =>
        new(422, 42202, "Unprocessable Entity", message);
}
