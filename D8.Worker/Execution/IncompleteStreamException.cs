namespace D8.Worker.Execution;

/// <summary>The provider's stream ended without its end-of-answer marker (an Ollama error line is swallowed this way).</summary>
public sealed class IncompleteStreamException(string message) : IOException(message);
