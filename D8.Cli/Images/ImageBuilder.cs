using System.Diagnostics;
using System.Globalization;

namespace D8.Cli.Images;

/// <summary>Runs the planned `dotnet publish` steps one after another, showing progress and the SDK's key lines.</summary>
public sealed class ImageBuilder(CliContext ctx)
{
    /// <summary>Registries the SDK may reach over plain HTTP (DOTNET_CONTAINER_INSECURE_REGISTRIES), e.g. a LAN registry.</summary>
    public string? InsecureRegistries { get; init; }

    /// <summary>Runs every step; throws <see cref="CliException"/> on the first failure with the SDK's error lines.</summary>
    public async Task<IReadOnlyList<string>> RunAsync(IReadOnlyList<ImageBuildStep> steps, CancellationToken ct)
    {
        var results = new List<string>();
        var total = Stopwatch.StartNew();
        for (var i = 0; i < steps.Count; i++)
        {
            var step = steps[i];
            var prefix = $"[{i + 1}/{steps.Count}]";
            await ctx.Out.WriteLineAsync($"{prefix} {step.Title}");
            var watch = Stopwatch.StartNew();
            var (exitCode, errors) = await RunDotnetAsync(step.Arguments, prefix, ct);
            if (exitCode != 0)
            {
                foreach (var line in errors.TakeLast(15)) await ctx.Err.WriteLineAsync("    " + line);
                throw new CliException($"{step.Title} failed (dotnet publish exit code {exitCode})");
            }
            await ctx.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{prefix} done in {watch.Elapsed.TotalSeconds:F0} s: {step.Result}"));
            results.Add(step.Result);
        }
        await ctx.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"built {steps.Count} image(s) in {total.Elapsed.TotalSeconds:F0} s"));
        return results;
    }

    private async Task<(int ExitCode, List<string> Errors)> RunDotnetAsync(IReadOnlyList<string> arguments, string prefix, CancellationToken ct)
    {
        var start = new ProcessStartInfo(ctx.Env.Get("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = ctx.Env.WorkingDirectory,
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        if (InsecureRegistries is { Length: > 0 } insecure) start.Environment["DOTNET_CONTAINER_INSECURE_REGISTRIES"] = insecure;
        start.Environment["DOTNET_NOLOGO"] = "1";

        using var process = Process.Start(start) ?? throw new CliException("could not start dotnet");
        var errors = new List<string>();
        var gate = new SemaphoreSlim(1, 1);
        async Task PumpAsync(StreamReader reader)
        {
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                var text = line.Trim();
                var isError = text.Contains(" error ", StringComparison.Ordinal) || text.StartsWith("error", StringComparison.OrdinalIgnoreCase);
                // The SDK's own summary lines are the progress: restore, compile, layer upload, image written.
                var isProgress = text.StartsWith("Building image", StringComparison.Ordinal) || text.StartsWith("Pushed image", StringComparison.Ordinal)
                    || text.Contains("Finished uploading layer", StringComparison.Ordinal) || text.Contains(" -> ", StringComparison.Ordinal);
                if (!isError && !isProgress) continue;
                await gate.WaitAsync(ct);
                try
                {
                    if (isError) errors.Add(text);
                    else await ctx.Out.WriteLineAsync($"{prefix}   {Shorten(text)}");
                }
                finally
                {
                    gate.Release();
                }
            }
        }
        try
        {
            await Task.WhenAll(PumpAsync(process.StandardOutput), PumpAsync(process.StandardError), process.WaitForExitAsync(ct));
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, errors);
    }

    private static string Shorten(string line)
    {
        // "…Containers.targets(255,5): message : [Registry] Finished uploading layer 'sha256:…' to 'x'. [proj]" → the message.
        var message = line.IndexOf("message : ", StringComparison.Ordinal) is var m and >= 0 ? line[(m + 10)..] : line;
        var project = message.LastIndexOf(" [/", StringComparison.Ordinal);
        return project > 0 ? message[..project] : message;
    }
}
