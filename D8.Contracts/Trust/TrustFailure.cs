using System.Security.Authentication;

namespace D8.Contracts.Trust;

/// <summary>Why an orchestrator was not trusted.</summary>
public enum TrustFailure
{
    /// <summary>The CA in the server's chain is not the one the join token pins.</summary>
    WrongPin,
    /// <summary>The server certificate is not signed by the pinned CA.</summary>
    Foreign,
    /// <summary>A certificate of the chain is expired (or not yet valid).</summary>
    Expired,
    /// <summary>The orchestrator does not speak TLS, or the URL is http:// while the token pins a CA.</summary>
    NotTls,
    /// <summary>A credential would have crossed the network over plain HTTP (see <see cref="PlainHttp"/>).</summary>
    PlainHttp,
}

/// <summary>The orchestrator's certificate was refused; <see cref="Exception.Message"/> is one line saying what to check.</summary>
public sealed class TrustFailureException(TrustFailure failure, string message) : AuthenticationException(message)
{
    public TrustFailure Failure { get; } = failure;
}
