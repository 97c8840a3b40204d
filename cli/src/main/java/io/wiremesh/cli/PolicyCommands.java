package io.wiremesh.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.api.policy.PolicySnapshot;
import io.wiremesh.api.policy.PolicyVerdict;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code wiremesh policy}: what NetworkPolicy does to a connection. */
@Command(name = "policy", mixinStandardHelpOptions = true, description = "NetworkPolicy: explain a connection's verdict.",
        subcommands = PolicyCommands.Explain.class)
public final class PolicyCommands {
    PrintStream out = System.out;

    /**
     * Reads the pods, namespaces and NetworkPolicies from the API and says whether a new connection between two pods (or a
     * pod and an address) is allowed, side by side (the source's egress, the destination's ingress) with the policies and
     * rules that decide; exit status 0 when allowed, 1 when denied, 2 when it cannot answer. The verdict is {@link PolicyVerdict}'s, the model the
     * nodes' rules are tested against.
     */
    @Command(name = "explain", mixinStandardHelpOptions = true,
            description = {"Is a new connection from SOURCE to DESTINATION allowed by NetworkPolicy, and which policies decide?",
                    "SOURCE and DESTINATION are NAMESPACE/POD, or an IP address (outside the cluster's pods).",
                    "Exit status 0: allowed, 1: denied, 2: no answer (a pod that does not exist, the cluster unreachable)."})
    static final class Explain implements Callable<Integer> {
        @ParentCommand
        PolicyCommands policy;

        @Mixin
        ClusterOptions cluster = new ClusterOptions();

        @Parameters(index = "0", description = "NAMESPACE/POD or an IP address")
        String source;

        @Parameters(index = "1", description = "NAMESPACE/POD or an IP address")
        String destination;

        @Parameters(index = "2", arity = "0..1", description = "PORT[/PROTOCOL] (TCP when not given; a container port's name also works);"
                + " none: traffic without ports, e.g. ping")
        String port;

        @Override
        public Integer call() throws Exception {
            try {
                return explain();
            } catch (PeerCommands.Failure | io.fabric8.kubernetes.client.KubernetesClientException e) {
                System.err.println("wiremesh: " + (e instanceof PeerCommands.Failure ? "" : "the cluster refused or could not be reached: ") + e.getMessage());
                return 2; // not an answer: 1 means denied
            }
        }

        private int explain() throws Exception {
            try (KubernetesClient c = cluster.client()) {
                PolicySnapshot snapshot = PolicySnapshot.from(c.pods().inAnyNamespace().list().getItems(), c.namespaces().list().getItems(),
                        c.network().v1().networkPolicies().inAnyNamespace().list().getItems());
                PolicyVerdict.End src = end(snapshot, source), dst = end(snapshot, destination);
                String protocol = null;
                Integer number = null;
                if (port != null) {
                    String[] parts = port.split("/", 2);
                    protocol = parts.length > 1 ? parts[1].toUpperCase(java.util.Locale.ROOT) : "TCP";
                    if (!java.util.List.of("TCP", "UDP", "SCTP").contains(protocol)) throw new PeerCommands.Failure("protocol " + parts[1] + ": TCP, UDP or SCTP");
                    if (parts[0].matches("[0-9]+")) {
                        number = Integer.valueOf(parts[0]);
                    } else {
                        number = dst.pod() == null ? null : dst.pod().port(parts[0], protocol);
                        if (number == null) throw new PeerCommands.Failure(destination + " has no container port named " + parts[0] + " (" + protocol + ")");
                    }
                }
                PolicyVerdict.Explanation e = PolicyVerdict.explain(snapshot, src, dst, protocol, number);
                String what = source + " -> " + destination + (port != null ? " " + protocol + "/" + number : "");
                policy.out.println((e.allowed() ? "ALLOWED  " : "DENIED   ") + what);
                policy.out.println("  egress:  " + (e.egress().allowed() ? "allowed" : "denied") + " - " + e.egress().reason());
                policy.out.println("  ingress: " + (e.ingress().allowed() ? "allowed" : "denied") + " - " + e.ingress().reason());
                return e.allowed() ? 0 : 1;
            }
        }

        private static PolicyVerdict.End end(PolicySnapshot snapshot, String s) throws PeerCommands.Failure {
            int slash = s.indexOf('/');
            if (slash < 0) {
                if (!s.matches("[0-9a-fA-F:.]+")) throw new PeerCommands.Failure(s + ": give NAMESPACE/POD or an IP address");
                // An address that is a pod's is that pod.
                for (PolicySnapshot.Pod p : snapshot.pods()) if (p.ips().contains(s)) return new PolicyVerdict.End(p, s);
                return new PolicyVerdict.End(null, s);
            }
            String ns = s.substring(0, slash), name = s.substring(slash + 1);
            for (PolicySnapshot.Pod p : snapshot.pods()) {
                if (p.namespace().equals(ns) && p.name().equals(name)) {
                    if (p.ips().isEmpty()) throw new PeerCommands.Failure(s + " has no address yet");
                    return new PolicyVerdict.End(p, p.ips().getFirst());
                }
            }
            throw new PeerCommands.Failure("no pod " + s + " with an address (host-network pods are not subject to NetworkPolicy)");
        }
    }
}
