/**
 * The local cluster's DNS server ({@code kube-system/kube-dns}): Services and pods by name under the
 * cluster domain, as the Kubernetes DNS-Based Service Discovery specification 1.1.0 defines them and
 * CoreDNS's {@code kubernetes} plugin serves them ({@code pods insecure}, TTL 5 s), and everything else
 * forwarded to upstream servers.
 *
 * <p>Decisions are pure and tested on their own: {@link io.wiremesh.clusterdns.KubeObjects} (API objects to a
 * {@link io.wiremesh.clusterdns.ClusterState}), {@link io.wiremesh.clusterdns.Zone} (a question to an answer),
 * {@link io.wiremesh.clusterdns.Resolver} (a query to a response, with an {@link io.wiremesh.clusterdns.Upstream}),
 * {@link io.wiremesh.clusterdns.Wire} (bytes, EDNS0 and truncation). I/O stays at the edges:
 * {@link io.wiremesh.clusterdns.UdpServer}, {@link io.wiremesh.clusterdns.TcpServer},
 * {@link io.wiremesh.clusterdns.Forwarder}, {@link io.wiremesh.clusterdns.KubeWatcher} and
 * {@link io.wiremesh.clusterdns.StatusServer}.
 */
package io.wiremesh.clusterdns;
