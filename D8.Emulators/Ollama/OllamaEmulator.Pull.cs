using System.Text.Json;
using System.Text.Json.Nodes;
using D8.Emulators.Faults;
using D8.Emulators.Hosting;
using Microsoft.AspNetCore.Http;

namespace D8.Emulators.Ollama;

public sealed partial class OllamaEmulator
{
    private const string ManifestMissing = "pull model manifest: file does not exist";

    private async Task PullAsync(HttpContext context)
    {
        if (!TryReadBody(context, out var body, out var error))
        {
            await error.ConfigureAwait(false);
            return;
        }
        var name = ModelName(body);
        if (name is null)
        {
            await BadRequest(context, "model is required").ConfigureAwait(false);
            return;
        }
        var model = OllamaModelInfo.Normalize(name);
        var pullable = Options.PullableModels is not { } allowed
            || allowed.Any(a => OllamaModelInfo.Normalize(a) == model);
        var stream = !body.TryGetProperty("stream", out var s) || s.ValueKind != JsonValueKind.False;

        var fault = PullFaults.Next();
        switch (fault?.Kind)
        {
            case FaultKind.Hang:
                await HangAsync(context).ConfigureAwait(false);
                return;
            case FaultKind.RateLimited or FaultKind.HttpError:
                await WriteStatusFaultAsync(context, fault).ConfigureAwait(false);
                return;
        }

        if (!stream)
        {
            if (!pullable)
            {
                await context.WriteJsonAsync(500, new JsonObject { ["error"] = ManifestMissing }).ConfigureAwait(false);
                return;
            }
            InstallModel(model);
            await context.WriteJsonAsync(200, new JsonObject { ["status"] = "success" }).ConfigureAwait(false);
            return;
        }

        var aborted = Aborted(context);
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/x-ndjson";
        try
        {
            await context.WriteLineAsync(new JsonObject { ["status"] = "pulling manifest" }).ConfigureAwait(false);
            if (!pullable)
            {
                await context.WriteLineAsync(new JsonObject { ["error"] = ManifestMissing }).ConfigureAwait(false);
                return;
            }
            var info = new OllamaModelInfo(model, Time.GetUtcNow());
            (string Digest, long Size)[] layers = [("sha256:" + info.Digest, info.Size), ("sha256:" + new OllamaModelInfo(model + "/params", info.ModifiedAt).Digest, 148)];
            var chunks = Math.Max(1, Options.PullChunks);
            var written = 0;
            foreach (var (digest, size) in layers)
            {
                for (var k = 0; k <= chunks; k++)
                {
                    if (fault?.Kind is FaultKind.DropMidStream or FaultKind.ErrorMidStream && written == fault.AfterChunks)
                    {
                        await StrikeMidStreamAsync(context, fault).ConfigureAwait(false);
                        return;
                    }
                    await TokenDelayAsync(Options.PullChunkDelay, aborted).ConfigureAwait(false);
                    var line = new JsonObject { ["status"] = $"pulling {digest[7..19]}", ["digest"] = digest, ["total"] = size };
                    if (k > 0) line["completed"] = size * k / chunks;
                    await context.WriteLineAsync(line).ConfigureAwait(false);
                    written++;
                }
            }
            foreach (var status in (string[])["verifying sha256 digest", "writing manifest"])
                await context.WriteLineAsync(new JsonObject { ["status"] = status }).ConfigureAwait(false);
            InstallModel(model);
            await context.WriteLineAsync(new JsonObject { ["status"] = "success" }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            context.Abort();
        }
    }
}
