namespace D8.AppHost.Ollama;

/// <summary>An Ollama the AppHost does not run (a native install, or a Raspberry Pi on the LAN), reached at a fixed URL.</summary>
public sealed class ExternalOllamaResource(string name, Uri url) : Resource(name), IOllamaServerResource, IResourceWithConnectionString
{
    /// <summary>The server's base URL.</summary>
    public Uri Url { get; } = url;

    /// <inheritdoc />
    public ReferenceExpression EndpointExpression => ReferenceExpression.Create($"{Url.GetLeftPart(UriPartial.Authority)}");

    /// <inheritdoc />
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"Endpoint={EndpointExpression}");
}
