package io.wiremesh.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code wiremesh}: the user's command line. */
@Command(name = "wiremesh", mixinStandardHelpOptions = true, version = "wiremesh 0.1.0",
        description = "WireGuard for Kubernetes pods.", subcommands = {PeerCommands.class, NodeCommands.class, PolicyCommands.class})
public final class Main {
    public static void main(String[] args) {
        System.exit(execute(args));
    }

    static int execute(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionStrategy(parse -> {
            Integer help = CommandLine.executeHelpRequest(parse);
            if (help != null) return help;
            Object cmd = parse.asCommandLineList().get(parse.asCommandLineList().size() - 1).getCommand();
            if (cmd instanceof java.util.concurrent.Callable<?> c) {
                @SuppressWarnings("unchecked")
                java.util.concurrent.Callable<Integer> call = (java.util.concurrent.Callable<Integer>) c;
                return PeerCommands.run(call, System.err);
            }
            return new CommandLine.RunLast().execute(parse);
        });
        return cl.execute(args);
    }
}
