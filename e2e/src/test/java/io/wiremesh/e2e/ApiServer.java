package io.wiremesh.e2e;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import java.io.FileInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;

/** A real kube-apiserver 1.20.2 (scripts/build-kube-apiserver.sh) with crds/ installed, one per test JVM. */
final class ApiServer {
    private static final Path DIR = Path.of(System.getenv().getOrDefault("WIREMESH_K8S_CACHE", "/var/cache/wiremesh"), "kubeapitest");
    private static KubernetesClient client;
    private static String kubeconfig;

    private ApiServer() {}

    static synchronized KubernetesClient client() throws Exception {
        if (client != null) return client;
        if (!Files.isExecutable(DIR.resolve("k8s/1.20.2-linux-amd64/kube-apiserver"))) {
            throw new IllegalStateException("kube-apiserver is missing: run scripts/install-deps.sh");
        }
        KubeAPIServer server = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig().withOfflineMode(true)
                .withApiServerVersion("1.20.2").withTestDir(DIR.toString()).withUpdateKubeConfig(false)
                .withApiServerFlag("--bind-address", "127.0.0.1").build());
        server.start();
        Runtime.getRuntime().addShutdownHook(new Thread(server::stop));
        kubeconfig = server.getKubeConfigYaml();
        client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(kubeconfig)).build();
        try (var files = Files.list(Host.ROOT.resolve("crds"))) {
            for (Path f : files.sorted().toList()) {
                try (FileInputStream in = new FileInputStream(f.toFile())) {
                    CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions().load(in).item();
                    client.resource(crd).createOr(NonDeletingOperation::update);
                    Awaitility.await().atMost(30, TimeUnit.SECONDS).until(() -> {
                        var got = client.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName()).get();
                        return got.getStatus() != null && got.getStatus().getConditions() != null && got.getStatus().getConditions().stream()
                                .anyMatch(c -> c.getType().equals("Established") && c.getStatus().equals("True"));
                    });
                }
            }
        }
        return client;
    }

    static String kubeconfig() throws Exception {
        client();
        return kubeconfig;
    }

    static int port() throws Exception {
        Matcher m = Pattern.compile("server: *\"?https://127\\.0\\.0\\.1:(\\d+)").matcher(kubeconfig());
        if (!m.find()) throw new IllegalStateException("no server in kubeconfig");
        return Integer.parseInt(m.group(1));
    }
}
