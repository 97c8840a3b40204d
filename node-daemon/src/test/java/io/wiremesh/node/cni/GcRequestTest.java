package io.wiremesh.node.cni;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.jr.ob.JSON;
import io.wiremesh.api.cni.CniErrorCode;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GcRequestTest {
    private static Map<String, Object> conf(String extra) throws Exception {
        return JSON.std.mapFrom("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"wiremesh\"" + extra + "}");
    }

    @Test
    void eitherKeyTheSpecTextsOrLibcnis() throws Exception {
        assertThat(GcRequest.validAttachments(conf(",\"cni.dev/attachments\":[{\"containerID\":\"c1\",\"ifname\":\"eth0\"}]")))
                .containsExactly("c1/eth0");
        assertThat(GcRequest.validAttachments(conf(",\"cni.dev/valid-attachments\":[{\"containerID\":\"c1\",\"ifname\":\"eth0\"}]")))
                .containsExactly("c1/eth0");
        // libcni 1.2.3+ sends both; a disagreement keeps what either lists.
        assertThat(GcRequest.validAttachments(conf(",\"cni.dev/attachments\":[{\"containerID\":\"c1\",\"ifname\":\"eth0\"}],"
                + "\"cni.dev/valid-attachments\":[{\"containerID\":\"c2\",\"ifname\":\"eth0\"}]"))).containsExactlyInAnyOrder("c1/eth0", "c2/eth0");
    }

    @Test
    void anExplicitEmptyListMeansNothingIsValid() throws Exception {
        assertThat(GcRequest.validAttachments(conf(",\"cni.dev/attachments\":[]"))).isEmpty();
    }

    @Test
    void aMissingListIsAnInvalidRequestNotReleaseEverything() {
        assertThatThrownBy(() -> GcRequest.validAttachments(conf(""))).isInstanceOfSatisfying(CniException.class, e -> {
            assertThat(e.code).isEqualTo(CniErrorCode.INVALID_CONFIG);
            assertThat(e.getMessage()).contains("cni.dev/attachments");
            assertThat(e.details).contains("nothing was released");
        });
        assertThatThrownBy(() -> GcRequest.validAttachments(conf(",\"cni.dev/attachments\":null")))
                .isInstanceOfSatisfying(CniException.class, e -> assertThat(e.code).isEqualTo(CniErrorCode.INVALID_CONFIG));
    }

    @Test
    void malformedEntriesReleaseNothing() {
        for (String bad : new String[] {"{\"containerID\":\"c1\"}", "{\"ifname\":\"eth0\"}", "\"c1\"", "{\"containerID\":\"\",\"ifname\":\"eth0\"}",
                "{\"containerID\":7,\"ifname\":\"eth0\"}"}) {
            assertThatThrownBy(() -> GcRequest.validAttachments(conf(",\"cni.dev/attachments\":[{\"containerID\":\"c1\",\"ifname\":\"eth0\"}," + bad + "]")))
                    .as(bad).isInstanceOfSatisfying(CniException.class, e -> assertThat(e.code).isEqualTo(CniErrorCode.INVALID_CONFIG));
        }
        assertThatThrownBy(() -> GcRequest.validAttachments(conf(",\"cni.dev/valid-attachments\":{\"containerID\":\"c1\"}")))
                .isInstanceOf(CniException.class);
    }
}
