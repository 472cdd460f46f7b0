using D8.Benchmarks.Dispatch;
using D8.Benchmarks.Evolve;
using D8.Benchmarks.Fleet;
using D8.Benchmarks.Schedule;
using D8.Benchmarks.Soak;
using D8.Benchmarks.Worker;

return args.FirstOrDefault() switch
{
    "dispatch" => await DispatchBenchmark.RunAsync(args.Skip(1).ToArray()),
    "soak" => await SoakBenchmark.RunAsync(args.Skip(1).ToArray()),
    "worker" => await WorkerBenchmark.RunAsync(args.Skip(1).ToArray()),
    "evolve" => await EvolveBenchmark.RunAsync(args.Skip(1).ToArray()),
    "tls" => await D8.Benchmarks.Tls.TlsBenchmark.RunAsync(args.Skip(1).ToArray()),
    "gateway" => await D8.Benchmarks.Gateway.GatewayBenchmark.RunAsync(args.Skip(1).ToArray()),
    "schedule" => await ScheduleBenchmark.RunAsync(args.Skip(1).ToArray()),
    "fleet" => await FleetBenchmark.RunAsync(args.Skip(1).ToArray()),
    "failover" => await D8.Benchmarks.Failover.FailoverBenchmark.RunAsync(args.Skip(1).ToArray()),
    "engine" => await EngineOnlyBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1]) : 50_000) > 0 ? 0 : 1,
    _ => Usage(),
};

static int Usage()
{
    Console.WriteLine("usage: dotnet run -c Release --project D8.Benchmarks -- dispatch [--tasks N] [--rate R] [--store sqlite|postgres [--synchronous-commit off]] | soak [--tasks N] [--store sqlite|postgres] | worker [N] | evolve [--population P] [--generations G] | tls [N] | gateway [--calls N] [--waiting N] [--batch N] | schedule [--time-scale K] [--only tail,free-tier,storm,priority] | fleet [--sizes 1000,5000,10000] [--tasks T] [--usage both|yes|no] [--timeout S] [--http1] [--only fastest|fifo] [--set KEY=VALUE] | failover [--tasks N] [--lease S]");
    return 2;
}
