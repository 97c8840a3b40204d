package io.wiremesh.api.crd;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;

/**
 * Build step after the CRD generator: puts each CRD's printer columns in the order its class's
 * {@link ColumnOrder} gives, then stamps the CRD with its {@link ModelDigest}. Usage: OrderPrinterColumns DIR CLASS...
 */
public final class OrderPrinterColumns {
    private OrderPrinterColumns() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        KubernetesSerialization yaml = new KubernetesSerialization();
        for (int i = 1; i < args.length; i++) {
            Class<?> type = Class.forName(args[i]);
            List<String> order = List.of(type.getAnnotation(ColumnOrder.class).value());
            String plural = type.getAnnotation(io.fabric8.kubernetes.model.annotation.Plural.class).value();
            String group = type.getAnnotation(io.fabric8.kubernetes.model.annotation.Group.class).value();
            Path file = dir.resolve(plural + "." + group + "-v1.yml");
            CustomResourceDefinition crd = yaml.unmarshal(Files.readString(file), CustomResourceDefinition.class);
            for (CustomResourceDefinitionVersion v : crd.getSpec().getVersions()) {
                List<CustomResourceColumnDefinition> cols = v.getAdditionalPrinterColumns();
                cols.sort(Comparator.comparingInt(c -> {
                    int at = order.indexOf(c.getName());
                    if (at < 0) throw new IllegalStateException(type.getSimpleName() + ": column " + c.getName() + " missing from @ColumnOrder");
                    return at;
                }));
            }
            crd.getMetadata().setAnnotations(new java.util.TreeMap<>(java.util.Map.of(ModelDigest.ANNOTATION, ModelDigest.of(crd))));
            Files.writeString(file, "# Generated from " + type.getName() + " by the api module build; do not edit.\n" + yaml.asYaml(crd));
        }
    }
}
