namespace D8.AppHost.Ollama;

/// <summary>The ollama/ollama container, serving the Ollama API on port 11434.</summary>
public sealed class OllamaResource(string name) : ContainerResource(name), IOllamaServerResource, IResourceWithConnectionString
{
    /// <summary>Name of the HTTP endpoint.</summary>
    public const string HttpEndpointName = "http";

    /// <summary>Port Ollama listens on inside the container.</summary>
    public const int OllamaPort = 11434;

    /// <summary>The container's HTTP endpoint.</summary>
    public EndpointReference HttpEndpoint => field ??= new EndpointReference(this, HttpEndpointName);

    /// <inheritdoc />
    public ReferenceExpression EndpointExpression => ReferenceExpression.Create($"{HttpEndpoint}");

    /// <inheritdoc />
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"Endpoint={HttpEndpoint}");
}
