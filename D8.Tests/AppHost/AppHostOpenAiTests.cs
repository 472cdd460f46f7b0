using System.ClientModel;
using System.ClientModel.Primitives;
using Aspire.Hosting.Testing;
using D8.Emulators.Hosting;
using OpenAI;
using OpenAI.Chat;

namespace D8.Tests.AppHost;

/// <summary>The official OpenAI SDK through the orchestrator endpoint the AppHost started.</summary>
[Collection(AppHostCollection.Name)]
public sealed class AppHostOpenAiTests(AppHostFixture fixture)
{
    [Fact]
    public async Task An_OpenAI_client_pointed_at_the_AppHost_orchestrator_runs_chat_on_the_fleet()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        // The orchestrator's endpoint as the AppHost allocated it, plus /v1: what the AppHost prints as the base URL.
        var baseUrl = fixture.App.GetEndpoint("orchestrator", "http").ToString().TrimEnd('/') + "/v1";
        var client = new OpenAIClient(new ApiKeyCredential(AppHostFixture.ApiKey), new OpenAIClientOptions
        {
            Endpoint = new Uri(baseUrl), RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        });

        var models = (await client.GetOpenAIModelClient().GetModelsAsync(cts.Token)).Value.Select(m => m.Id).ToList();
        Assert.Contains("groq/llama-3.1-8b-instant", models);

        var completion = (await client.GetChatClient("groq/llama-3.1-8b-instant")
            .CompleteChatAsync([new UserChatMessage("hello apphost")], cancellationToken: cts.Token)).Value;
        Assert.Equal(EmulatorAnswer.Text("openai-emulator", "hello apphost", 12), completion.Content[0].Text);

        // The dashboard row under the orchestrator counts the OpenAI calls open and queued (none now).
        var row = await fixture.App.ResourceNotifications.WaitForResourceAsync(D8.AppHost.Gateway.GatewayLiveFigures.ResourceName,
            e => e.Snapshot.State?.Text == "0 calls in flight · 0 queued", cts.Token);
        Assert.Contains(row.Snapshot.Properties, p => p.Name == "d8.openai.queued");
    }
}
