using System.ComponentModel;
using System.Diagnostics;
using Microsoft.Extensions.Configuration;

namespace D8.AppHost.Ollama;

/// <summary>The mode Ollama:Mode=auto resolved to, and why (one line for the console and the dashboard).</summary>
public sealed record OllamaChoice(OllamaMode Mode, string Reason);

/// <summary>
/// Probes what this machine offers for Ollama: does a container runtime answer (`docker info`), does an Ollama answer at
/// Ollama:Url. The runtime's executable comes from Ollama:ContainerRuntime (default ASPIRE_CONTAINER_RUNTIME, else docker),
/// so a test can point it at a runtime that does not exist instead of depending on the machine.
/// </summary>
public static class OllamaModeDetector
{
    /// <summary>Where a local Ollama listens by default.</summary>
    public const string DefaultUrl = "http://localhost:11434";

    private static readonly TimeSpan RuntimeTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan OllamaTimeout = TimeSpan.FromSeconds(3);

    /// <summary>The container runtime executable to ask.</summary>
    public static string RuntimeOf(IConfiguration config) =>
        config["Ollama:ContainerRuntime"] is { Length: > 0 } r ? r
        : config["ASPIRE_CONTAINER_RUNTIME"] is { Length: > 0 } a ? a
        : "docker";

    /// <summary>Auto: container if the runtime answers, else external if Ollama answers at <paramref name="ollamaUrl"/>, else none.</summary>
    public static async Task<OllamaChoice> ChooseAsync(IConfiguration config, Uri ollamaUrl, CancellationToken ct)
    {
        var runtime = RuntimeOf(config);
        if (await RuntimeAnswersAsync(runtime, ct).ConfigureAwait(false))
        {
            return new(OllamaMode.Container, $"{runtime} answers: running the ollama/ollama container");
        }
        if (await OllamaAnswersAsync(ollamaUrl, ct).ConfigureAwait(false))
        {
            return new(OllamaMode.External, $"no container runtime ({runtime}); using the Ollama answering at {ollamaUrl}");
        }
        return new(OllamaMode.None,
            $"no container runtime ({runtime}) and no Ollama at {ollamaUrl}: no DeepSeek worker. Start Docker or install Ollama (https://ollama.com) and run again");
    }

    /// <summary>True when `&lt;runtime&gt; info` exits 0 within 10 s (the daemon answers, not just the CLI exists).</summary>
    public static async Task<bool> RuntimeAnswersAsync(string runtime, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(runtime)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("info");
        psi.ArgumentList.Add("--format");
        psi.ArgumentList.Add("{{.ServerVersion}}");
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new Win32Exception();
        }
        catch (Win32Exception)
        {
            return false; // not installed
        }

        using (process)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(RuntimeTimeout);
            var drainOut = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var drainErr = process.StandardError.ReadToEndAsync(timeout.Token);
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
                await Task.WhenAll(drainOut, drainErr).ConfigureAwait(false);
                return process.ExitCode == 0;
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                ct.ThrowIfCancellationRequested();
                return false; // a runtime that hangs is not one we can use
            }
        }
    }

    /// <summary>True when GET /api/version answers 2xx within 3 s.</summary>
    public static async Task<bool> OllamaAnswersAsync(Uri url, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = OllamaTimeout };
        try
        {
            using var response = await http.GetAsync(new Uri(url, "/api/version"), ct).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return false;
        }
    }
}
