#pragma warning disable ASPIREPIPELINES001, ASPIREPIPELINES004 // Pipeline steps and the output service are experimental in Aspire 13.x.
using Aspire.Hosting.Pipelines;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace D8.AppHost.Publishing.Compose;

/// <summary>Registers the publish-compose pipeline step.</summary>
public static class ComposePublishingExtensions
{
    /// <summary>Name of the step (`--operation publish --step publish-compose`).</summary>
    public const string StepName = "publish-compose";

    /// <summary>File name of the compose file.</summary>
    public const string ComposeFileName = "docker-compose.generated.yml";

    /// <summary>File name of the variables template.</summary>
    public const string EnvExampleFileName = ".env.example";

    /// <summary>Adds a step writing docker-compose.generated.yml and .env.example to the output path.</summary>
    /// <remarks>No dependency on process-parameters: the files only name parameters, so no value (or prompt) is needed.</remarks>
    public static IDistributedApplicationBuilder AddComposePublishing(this IDistributedApplicationBuilder builder)
    {
        builder.Pipeline.AddStep(new PipelineStep
        {
            Name = StepName,
            Description = "Writes docker-compose.generated.yml and .env.example from the app model.",
            Action = WriteAsync,
        });
        return builder;
    }

    private static async Task WriteAsync(PipelineStepContext context)
    {
        var directory = context.Services.GetRequiredService<IPipelineOutputService>().GetOutputDirectory();
        Directory.CreateDirectory(directory);
        var generator = new ComposeGenerator(context.Model, context.ExecutionContext);
        var (compose, env) = await generator.GenerateAsync(context.CancellationToken).ConfigureAwait(false);
        var composePath = Path.Combine(directory, ComposeFileName);
        await File.WriteAllTextAsync(composePath, compose, context.CancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(directory, EnvExampleFileName), env, context.CancellationToken).ConfigureAwait(false);
        context.Logger.LogInformation("Wrote {ComposeFile} and {EnvFile}", composePath, Path.Combine(directory, EnvExampleFileName));
    }
}
