package io.wiremesh.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.generator.annotation.Default;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import org.junit.jupiter.api.Test;

/** The mesh defaults: the constants, the readers, and the CRD's defaults (annotation strings) say the same. */
class MeshDefaultsTest {
    private static Default crdDefault(String field) throws NoSuchFieldException {
        return WireGuardMeshSpec.class.getField(field).getAnnotation(Default.class);
    }

    @Test
    void theCrdDefaultsAreTheConstants() throws Exception {
        assertThat(crdDefault("listenPort").value()).isEqualTo(String.valueOf(WireGuardMeshSpec.DEFAULT_LISTEN_PORT));
        assertThat('"' + crdDefault("datapath").value() + '"')
                .isEqualTo(new ObjectMapper().writeValueAsString(WireGuardMeshSpec.DEFAULT_DATAPATH));
        assertThat(crdDefault("persistentKeepalive")).as("unset keepalive stays unset in the API").isNull();
    }

    @Test
    void unsetFieldsReadAsTheDefaults() {
        WireGuardMeshSpec spec = new WireGuardMeshSpec();
        assertThat(spec.listenPortOrDefault()).isEqualTo(51820);
        assertThat(spec.persistentKeepaliveOrDefault()).isZero();
        assertThat(spec.datapathOrDefault()).isEqualTo(WireGuardMeshSpec.Datapath.AUTO);
        spec.listenPort = 4500;
        spec.persistentKeepalive = 25;
        spec.datapath = WireGuardMeshSpec.Datapath.KERNEL;
        assertThat(spec.listenPortOrDefault()).isEqualTo(4500);
        assertThat(spec.persistentKeepaliveOrDefault()).isEqualTo(25);
        assertThat(spec.datapathOrDefault()).isEqualTo(WireGuardMeshSpec.Datapath.KERNEL);
    }
}
