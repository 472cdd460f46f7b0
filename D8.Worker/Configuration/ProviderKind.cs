namespace D8.Worker.Configuration;

/// <summary>The LLM provider a worker serves.</summary>
public enum ProviderKind
{
    Ollama,
    Groq,
    Gemini,
    OpenAI,
}
