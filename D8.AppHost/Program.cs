var builder = DistributedApplication.CreateBuilder(args);

builder.AddProject<Projects.D8_Orchestrator>("orchestrator")
    .WithHttpHealthCheck("/health");

builder.Build().Run();
