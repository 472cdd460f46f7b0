namespace D8.AppHost.Ollama;

/// <summary>How the AppHost provides Ollama (configuration key Ollama:Mode).</summary>
public enum OllamaMode
{
    /// <summary>The default: a container when a container runtime answers, else an Ollama answering at Ollama:Url, else none.</summary>
    Auto,

    /// <summary>Run the ollama/ollama container (needs Docker or Podman).</summary>
    Container,

    /// <summary>Use an Ollama that already runs at Ollama:Url.</summary>
    External,

    /// <summary>No Ollama, so no DeepSeek worker.</summary>
    None,
}
