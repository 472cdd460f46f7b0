using System.ClientModel;
using System.ClientModel.Primitives;
using D8.Cli.Setup;
using D8.Contracts;
using OpenAI;
using OpenAI.Chat;

namespace D8.Cli.Verification;

/// <summary>Checks a provider key and model with a one-token chat completion through the OpenAI SDK.</summary>
public static class ProviderKeyProbe
{
    public static async Task<Outcome> CheckAsync(CliContext ctx, ProviderInfo provider, Uri baseUrl, string apiKey, string model,
        CancellationToken ct)
    {
        var options = new OpenAIClientOptions
        {
            // The SDK appends "/chat/completions"; a trailing slash would double it.
            Endpoint = new Uri(baseUrl.AbsoluteUri.TrimEnd('/')),
            // The SDK would retry 429s itself for minutes; a check wants the first answer.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromSeconds(30),
            Transport = new HttpClientPipelineTransport(ctx.CreateHttpClient(null, TimeSpan.FromSeconds(40))),
        };
        var chat = new ChatClient(model, new ApiKeyCredential(apiKey), options);
        try
        {
            await chat.CompleteChatAsync([new UserChatMessage("Reply with OK.")], new ChatCompletionOptions { MaxOutputTokenCount = 1 }, ct);
            return Outcome.Pass($"{provider.Name} accepted the key and serves {model}");
        }
        catch (ClientResultException e) when (e.Status is 401 or 403)
        {
            return Outcome.Fail($"{provider.Name} rejected the API key ({e.Status})",
                provider.KeyUrl is { } url ? $"create a new key at {url}" : "check the key with the server's owner");
        }
        catch (ClientResultException e) when (e.Status == 404)
        {
            return Outcome.Fail($"{provider.Name} has no model '{model}' (404)", "pick a model the provider lists (--model)");
        }
        catch (ClientResultException e) when (e.Status == 429)
        {
            return Outcome.Warn($"{provider.Name} accepted the key but is rate-limiting it now (429)",
                "fine for setup; the worker will wait for the limit to reset");
        }
        catch (ClientResultException e)
        {
            return Outcome.Fail($"{provider.Name} answered {e.Status}: {CliApp.FirstLine(e.Message)}", "check the base URL and model");
        }
        catch (Exception e) when (e is HttpRequestException or AggregateException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return Outcome.Fail($"cannot reach {provider.Name} at {baseUrl}: {CliApp.FirstLine(e.Message)}",
                "check the network and the base URL (D8_PROVIDER_BASE_URL)");
        }
    }
}
