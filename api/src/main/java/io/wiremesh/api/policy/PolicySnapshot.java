package io.wiremesh.api.policy;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodIP;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What policy decisions read from the API at one moment: the pods that can be a policy's peer or target
 * (with an address, not host-network, not finished), every namespace's labels, every NetworkPolicy.
 * Built from the informers' caches; immutable.
 */
public record PolicySnapshot(List<Pod> pods, Map<String, Map<String, String>> namespaces, List<Policy> policies) {
    /** A pod: its labels, its addresses (status.podIPs), and its containers' named ports (for named policy ports). */
    public record Pod(String namespace, String name, Map<String, String> labels, List<String> ips, List<NamedPort> ports) {
        public Pod {
            labels = Map.copyOf(labels);
            ips = List.copyOf(ips);
            ports = List.copyOf(ports);
        }

        /** "namespace/name". */
        public String key() {
            return namespace + "/" + name;
        }

        /** The port number of the container port {@code name} with {@code protocol}, or null. */
        public Integer port(String name, String protocol) {
            for (NamedPort p : ports) if (p.name().equals(name) && p.protocol().equals(protocol)) return p.port();
            return null;
        }
    }

    /** A container port with a name (spec.containers[].ports[]). */
    public record NamedPort(String name, String protocol, int port) {}

    public PolicySnapshot {
        pods = List.copyOf(pods);
        namespaces = Map.copyOf(namespaces);
        policies = List.copyOf(policies);
    }

    /**
     * What of a pod the snapshot reads, and nothing else (the informer keeps every pod of the cluster): name, namespace,
     * labels, resourceVersion, hostNetwork, containers' ports, phase, addresses.
     */
    public static io.fabric8.kubernetes.api.model.Pod slim(io.fabric8.kubernetes.api.model.Pod p) {
        var m = p.getMetadata();
        var b = new io.fabric8.kubernetes.api.model.PodBuilder().withNewMetadata().withName(m.getName()).withNamespace(m.getNamespace())
                .withLabels(m.getLabels()).withResourceVersion(m.getResourceVersion()).withUid(m.getUid()).endMetadata();
        if (p.getSpec() != null) {
            var spec = new io.fabric8.kubernetes.api.model.PodSpec();
            spec.setHostNetwork(p.getSpec().getHostNetwork());
            if (p.getSpec().getContainers() != null) {
                spec.setContainers(p.getSpec().getContainers().stream().filter(c -> c.getPorts() != null && !c.getPorts().isEmpty())
                        .map(c -> new io.fabric8.kubernetes.api.model.ContainerBuilder().withName(c.getName()).withPorts(c.getPorts()).build()).toList());
            }
            b.withSpec(spec);
        }
        if (p.getStatus() != null) {
            var status = new io.fabric8.kubernetes.api.model.PodStatus();
            status.setPhase(p.getStatus().getPhase());
            status.setPodIP(p.getStatus().getPodIP());
            status.setPodIPs(p.getStatus().getPodIPs());
            b.withStatus(status);
        }
        return b.build();
    }

    /** From the API's objects (the informers' caches). Host-network pods are neither targets nor peers (their address is the node's). */
    public static PolicySnapshot from(Collection<io.fabric8.kubernetes.api.model.Pod> pods, Collection<Namespace> namespaces,
                                      Collection<NetworkPolicy> policies) {
        List<Pod> ps = new ArrayList<>();
        for (var p : pods) {
            if (p.getSpec() != null && Boolean.TRUE.equals(p.getSpec().getHostNetwork())) continue;
            String phase = p.getStatus() == null ? null : p.getStatus().getPhase();
            if ("Succeeded".equals(phase) || "Failed".equals(phase)) continue; // its address may already be another pod's
            List<String> ips = new ArrayList<>();
            if (p.getStatus() != null && p.getStatus().getPodIPs() != null) {
                for (PodIP ip : p.getStatus().getPodIPs()) if (ip.getIp() != null) ips.add(ip.getIp());
            }
            if (ips.isEmpty() && p.getStatus() != null && p.getStatus().getPodIP() != null) ips.add(p.getStatus().getPodIP());
            List<NamedPort> named = new ArrayList<>();
            if (p.getSpec() != null && p.getSpec().getContainers() != null) {
                for (var c : p.getSpec().getContainers()) {
                    if (c.getPorts() == null) continue;
                    for (var cp : c.getPorts()) {
                        if (cp.getName() != null && cp.getContainerPort() != null) {
                            named.add(new NamedPort(cp.getName(), cp.getProtocol() == null ? "TCP" : cp.getProtocol(), cp.getContainerPort()));
                        }
                    }
                }
            }
            var m = p.getMetadata();
            ps.add(new Pod(m.getNamespace(), m.getName(), m.getLabels() == null ? Map.of() : m.getLabels(), ips, named));
        }
        Map<String, Map<String, String>> ns = new HashMap<>();
        for (Namespace n : namespaces) {
            ns.put(n.getMetadata().getName(), n.getMetadata().getLabels() == null ? Map.of() : n.getMetadata().getLabels());
        }
        return new PolicySnapshot(ps, ns, policies.stream().map(Policy::from).toList());
    }
}
