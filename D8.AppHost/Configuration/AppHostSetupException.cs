namespace D8.AppHost.Configuration;

/// <summary>
/// A setting the AppHost cannot run with. Program.cs prints <see cref="Exception.Message"/> (one or two lines saying what
/// to do) and exits with code 1 before any process is started, so a newcomer sees no stack trace and nothing is left running.
/// </summary>
public sealed class AppHostSetupException(string message) : Exception(message);
