package io.wiremesh.bench;

import io.wiremesh.api.policy.LabelSelector;
import io.wiremesh.api.policy.Policy;
import io.wiremesh.api.policy.PolicySnapshot;
import io.wiremesh.node.policy.PolicyPlan;
import io.wiremesh.node.policy.PolicyTable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The cost of one NetworkPolicy update on a node of a large simulated cluster (bench/policy.sh): PODS pods in 100
 * namespaces, POLICIES policies (pod selectors, namespace selectors, ipBlocks, numbered and named ports), LOCAL pods
 * on this node. Per round: a pod is added cluster-wide (what every pod creation costs every node), the plan is
 * computed, rendered and applied with {@code nft -f} in network namespace NS; the reference, in the same round, is nft
 * loading the same number of set elements as one flat set (nft's own floor for that much data).
 * Prints per-round milliseconds and the medians. Usage: PolicyScale NS PODS POLICIES LOCAL ROUNDS
 */
public final class PolicyScale {
    public static void main(String[] args) throws Exception {
        String ns = args[0];
        int pods = Integer.parseInt(args[1]), policies = Integer.parseInt(args[2]), local = Integer.parseInt(args[3]), rounds = Integer.parseInt(args[4]);
        Random r = new Random(1);
        List<PolicySnapshot.Pod> all = new ArrayList<>();
        for (int i = 0; i < pods; i++) all.add(pod(i, r));
        Map<String, Map<String, String>> namespaces = new java.util.HashMap<>();
        for (int n = 0; n < 100; n++) namespaces.put("ns" + n, Map.of("team", "t" + n % 10, "env", n % 3 == 0 ? "prod" : "dev"));
        List<Policy> ps = new ArrayList<>();
        for (int i = 0; i < policies; i++) ps.add(policy(i, r));
        List<PolicyPlan.LocalPod> here = new ArrayList<>();
        for (int i = 0; i < local; i++) {
            PolicySnapshot.Pod p = all.get(i * (pods / local));
            here.add(new PolicyPlan.LocalPod(p.namespace(), p.name(), String.format("wm%012x", i), p.ips()));
        }
        List<Double> plan = new ArrayList<>(), render = new ArrayList<>(), apply = new ArrayList<>(), floor = new ArrayList<>();
        int elements = 0, lines = 0;
        for (int round = 0; round < rounds; round++) {
            all.add(pod(pods + round, r));
            PolicySnapshot snapshot = new PolicySnapshot(all, namespaces, ps);
            long t0 = System.nanoTime();
            PolicyPlan.NodePolicy np = PolicyPlan.of(snapshot, here);
            long t1 = System.nanoTime();
            String script = PolicyTable.script(np, "wiremesh0");
            long t2 = System.nanoTime();
            nft(ns, script);
            long t3 = System.nanoTime();
            elements = np.sets().values().stream().mapToInt(s -> s.elements().size()).sum();
            lines = np.policyChains().values().stream().mapToInt(c -> c.lines().size()).sum() + np.podChains().values().stream().mapToInt(c -> c.policies().size() + 1).sum();
            String flat = flat(elements, round);
            long t4 = System.nanoTime();
            nft(ns, flat);
            long t5 = System.nanoTime();
            plan.add((t1 - t0) / 1e6);
            render.add((t2 - t1) / 1e6);
            apply.add((t3 - t2) / 1e6);
            floor.add((t5 - t4) / 1e6);
            System.out.printf("round %d: plan %.1f ms, render %.1f ms, nft -f %.1f ms (%d KB); reference: nft -f of %d elements as one set %.1f ms%n",
                    round, plan.getLast(), render.getLast(), apply.getLast(), script.length() / 1024, elements, floor.getLast());
        }
        double total = median(plan) + median(render) + median(apply);
        System.out.printf("policy update at %d pods, %d policies, %d pods on the node: %d set elements, %d rules in chains%n", pods, policies, local, elements, lines);
        System.out.printf("median: plan %.1f ms + render %.1f ms + apply %.1f ms = %.1f ms; reference (nft -f of the same elements, one set) %.1f ms; ratio %.2fx%n",
                median(plan), median(render), median(apply), total, median(floor), total / median(floor));
    }

    private static PolicySnapshot.Pod pod(int i, Random r) {
        String ip = "10." + (64 + i / 65536) + "." + (i / 256 % 256) + "." + (i % 256);
        return new PolicySnapshot.Pod("ns" + i % 100, "pod" + i, Map.of("app", "app" + r.nextInt(50), "tier", r.nextBoolean() ? "web" : "db"),
                List.of(ip), List.of(new PolicySnapshot.NamedPort("http", "TCP", 8000 + i % 3)));
    }

    private static Policy policy(int i, Random r) {
        LabelSelector target = LabelSelector.of(Map.of("app", "app" + r.nextInt(50)));
        Policy.Peer peer = switch (i % 4) {
            case 0 -> new Policy.Peer(LabelSelector.of(Map.of("tier", "web")), null, null);
            case 1 -> new Policy.Peer(null, LabelSelector.of(Map.of("team", "t" + r.nextInt(10))), null);
            case 2 -> new Policy.Peer(LabelSelector.of(Map.of("app", "app" + r.nextInt(50))), LabelSelector.of(Map.of("env", "prod")), null);
            default -> new Policy.Peer(null, null, new Policy.IpBlock(Policy.prefix("10.64.0.0/12"), List.of(Policy.prefix("10.64." + r.nextInt(40) + ".0/24"))));
        };
        Policy.Port port = i % 2 == 0 ? new Policy.Port("TCP", 8080, null, null) : new Policy.Port("TCP", null, null, "http");
        Policy.Rule rule = new Policy.Rule(List.of(peer), List.of(port), false);
        return new Policy("ns" + i % 100, "np" + i, target, true, i % 5 == 0, List.of(rule), i % 5 == 0 ? List.of(rule) : List.of(), List.of());
    }

    /** A table with one flat set of {@code n} addresses (differing each round, so nft really writes them). */
    private static String flat(int n, int round) {
        StringBuilder b = new StringBuilder("table inet wiremesh-floor {}\ndelete table inet wiremesh-floor\ntable inet wiremesh-floor {\n  set s { type ipv4_addr; flags interval; elements = { ");
        for (int i = 0; i < n; i++) b.append(i == 0 ? "" : ", ").append("10.").append(100 + round % 50).append('.').append(i / 256 % 256).append('.').append(i % 256);
        return b.append(" }; }\n}\n").toString();
    }

    private static void nft(String ns, String script) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("ip", "netns", "exec", ns, "nft", "-f", "-").redirectErrorStream(true).start();
        try (var in = p.getOutputStream()) {
            in.write(script.getBytes(StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IOException("nft: " + out);
    }

    private static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        return s.size() % 2 == 1 ? s.get(s.size() / 2) : (s.get(s.size() / 2 - 1) + s.get(s.size() / 2)) / 2;
    }
}
