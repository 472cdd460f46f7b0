using D8.Orchestrator.Security;

namespace D8.Orchestrator.Gateway;

/// <summary>
/// The OpenAI-compatible door under <c>/v1</c> (API key as <c>Authorization: Bearer</c>): <c>GET /v1/models</c>,
/// <c>GET /v1/models/{id}</c>, <c>POST /v1/chat/completions</c>. Every error on <c>/v1</c> is OpenAI's shape.
/// </summary>
public static class OpenAiGatewayApi
{
    public const string BasePath = "/v1";

    public static IEndpointRouteBuilder MapOpenAiGateway(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup(BasePath).RequireAuthorization(AuthSchemes.ApiKey).WithTags("OpenAI");

        v1.MapGet("/models", (ModelCatalog catalog) =>
                TypedResults.Json(new ModelList(catalog.List()), OpenAiWireContext.Default.ModelList))
            .WithName("OpenAiListModels")
            .WithSummary("Every model a registered worker serves, by exact id and as provider/model (owned_by = provider).")
            .Produces<ModelList>();

        // Catch-all: provider-pinned ids hold a slash (groq/llama-3.1-8b-instant).
        v1.MapGet("/models/{**id}", (string id, ModelCatalog catalog) => catalog.Find(Uri.UnescapeDataString(id)) is { } model
                ? TypedResults.Json(model, OpenAiWireContext.Default.ModelObject)
                : OpenAiErrors.Result(StatusCodes.Status404NotFound, OpenAiErrors.ModelNotFound(Uri.UnescapeDataString(id), catalog.ExactIds())))
            .WithName("OpenAiGetModel")
            .WithSummary("One model, or 404 model_not_found naming the models that exist.")
            .Produces<ModelObject>();

        v1.MapPost("/chat/completions", (HttpContext http, ChatGateway gateway) => gateway.HandleAsync(http))
            .WithName("OpenAiChatCompletions")
            .WithSummary("OpenAI chat completion (JSON or, with stream: true, Server-Sent Events), run as a durable D8 task.")
            .Accepts<ChatCompletionRequest>("application/json")
            .Produces<ChatCompletion>();
        return app;
    }

    /// <summary>Registers the door's services with its validated <c>D8_GATEWAY_*</c> settings.</summary>
    public static IServiceCollection AddOpenAiGateway(this IServiceCollection services, GatewayOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<ModelCatalog>();
        services.AddSingleton<GatewayTelemetry>();
        services.AddSingleton<ChatGateway>();
        services.AddHostedService<GatewayStartupLog>();
        return services;
    }
}
