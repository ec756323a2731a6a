namespace OrleansMQ.Silo.Http;

/// <summary>
/// Endpoint metadata: the route answers without an API key (the probes). The OpenAPI document
/// reads it to leave out the key requirement and the 401 answer.
/// </summary>
internal sealed class OpenWithoutKey;
