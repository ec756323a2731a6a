using Microsoft.AspNetCore.Builder;

namespace OrleansMQ.Silo.Http.OpenApi;

/// <summary>
/// Endpoint metadata: the request body's type and media types, for the OpenAPI document only.
/// <c>Accepts&lt;T&gt;</c> would say the same but also makes routing refuse other content types
/// with a bare 415, while the gateway answers those with its own problem documents (REST Proxy's
/// error_code 415) and reads bodies itself (pooled, streamed) rather than binding them.
/// </summary>
internal sealed record DocumentedBody(Type Type, string[] ContentTypes);

internal static class DocumentedBodyExtensions
{
    public static RouteHandlerBuilder DocumentBody<T>(this RouteHandlerBuilder builder, params string[] contentTypes) =>
        builder.WithMetadata(new DocumentedBody(typeof(T), contentTypes));

    public static RouteHandlerBuilder DocumentQuery(this RouteHandlerBuilder builder, string name, bool isInteger, string description) =>
        builder.WithMetadata(new DocumentedQuery(name, isInteger, description));
}

/// <summary>
/// Endpoint metadata: an optional query parameter, for the OpenAPI document only. The handlers
/// read the query themselves so a bad value gets the API's own problem document, not the
/// framework's binding failure.
/// </summary>
internal sealed record DocumentedQuery(string Name, bool IsInteger, string Description);
