namespace D8.AppHost.Ollama;

/// <summary>A model on an Ollama server; pulled when the server is ready and healthy only once the model exists.</summary>
public sealed class OllamaModelResource(string name, string modelName, IOllamaServerResource parent)
    : Resource(name), IResourceWithParent<IOllamaServerResource>, IResourceWithConnectionString, IResourceWithWaitSupport
{
    /// <summary>The Ollama model tag, e.g. deepseek-coder:1.3b.</summary>
    public string ModelName { get; } = modelName;

    /// <inheritdoc />
    public IOllamaServerResource Parent { get; } = parent;

    /// <summary>Connection string in the form the worker reads: Endpoint=http://host:11434;Model=name.</summary>
    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"Endpoint={Parent.EndpointExpression};Model={ModelName}");
}
