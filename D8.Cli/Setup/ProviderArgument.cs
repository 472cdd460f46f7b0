using D8.Contracts;

namespace D8.Cli.Setup;

/// <summary><c>--provider</c> (and D8_PROVIDER in a .env) as d8 takes it: a provider's name, or its worker's (deepseek for ollama).</summary>
public static class ProviderArgument
{
    /// <summary>The provider named, or a <see cref="CliException"/> listing the known ones.</summary>
    public static ProviderInfo Parse(string name)
    {
        var key = name.Trim();
        return ProviderCatalog.All.FirstOrDefault(p =>
                   string.Equals(p.Name, key, StringComparison.OrdinalIgnoreCase) || string.Equals(p.WorkerName, key, StringComparison.OrdinalIgnoreCase))
            ?? throw new CliException($"unknown provider '{name}': use one of ollama (deepseek), groq, gemini, openai");
    }
}
