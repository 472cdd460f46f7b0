using D8.Cli.Ollama;

namespace D8.Cli.Verification;

/// <summary>Checks that Ollama answers and whether it has the model.</summary>
public static class OllamaProbe
{
    /// <summary>Reachability outcome, and the model outcome (null when the model was not asked about or Ollama is down).</summary>
    public static async Task<(Outcome Reachable, Outcome? Model)> CheckAsync(CliContext ctx, Uri url, string? model, CancellationToken ct)
    {
        using var client = OllamaEndpoint.CreateClient(ctx, url, TimeSpan.FromSeconds(15));
        IReadOnlyList<string> names;
        try
        {
            names = (await client.ListLocalModelsAsync(ct)).Select(m => m.Name).ToList();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return (Outcome.Fail($"cannot reach Ollama at {url}: {CliApp.FirstLine(e.Message)}",
                "start it (docker compose --profile worker-deepseek up -d ollama) or set D8_OLLAMA_URL"), null);
        }
        var reachable = Outcome.Pass($"Ollama at {url} answers ({names.Count} model(s))");
        if (model is null) return (reachable, null);
        return names.Any(n => OllamaEndpoint.SameModel(n, model))
            ? (reachable, Outcome.Pass($"model {model} is present"))
            : (reachable, Outcome.Warn($"model {model} is not pulled yet", $"d8 ollama pull {model} (the worker also pulls it at start-up)"));
    }
}
