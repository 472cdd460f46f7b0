namespace D8.AppHost.Ollama;

/// <summary>An Ollama server the AppHost can pull models from: a container it runs or an existing install at a URL.</summary>
public interface IOllamaServerResource : IResource
{
    /// <summary>The server's base URL (http://host:11434) as an expression resolved at run time or in publish mode.</summary>
    ReferenceExpression EndpointExpression { get; }
}
