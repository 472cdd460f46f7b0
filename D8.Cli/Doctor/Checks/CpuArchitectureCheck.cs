using System.Runtime.InteropServices;
using D8.Cli.Verification;

namespace D8.Cli.Doctor.Checks;

/// <summary>The CPU architecture has D8 and Ollama images: 64-bit x86 or ARM.</summary>
public sealed class CpuArchitectureCheck : IDoctorCheck
{
    public string Name => "cpu";

    public Task<Outcome> RunAsync(DoctorContext doctor, CancellationToken ct)
    {
        var arch = doctor.Env.System.Architecture;
        return Task.FromResult(arch switch
        {
            Architecture.X64 => Outcome.Pass("x86-64"),
            Architecture.Arm64 => Outcome.Pass("arm64 (64-bit ARM, e.g. Raspberry Pi 4/5 with a 64-bit OS)"),
            Architecture.Arm => Outcome.Fail("32-bit ARM: the Ollama and .NET images need a 64-bit OS",
                "install the 64-bit Raspberry Pi OS (or any arm64 distribution)"),
            _ => Outcome.Fail($"{arch} has no D8 images", "run the worker on an x86-64 or arm64 machine"),
        });
    }
}
