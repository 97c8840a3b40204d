package io.wiremesh.cli;

import com.google.zxing.BarcodeFormat;
import com.google.zxing.EncodeHintType;
import com.google.zxing.WriterException;
import com.google.zxing.common.BitMatrix;
import com.google.zxing.qrcode.QRCodeWriter;
import com.google.zxing.qrcode.decoder.ErrorCorrectionLevel;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import javax.imageio.ImageIO;

/** QR codes of configurations, as the official WireGuard apps scan them: in the terminal and as PNG. */
public final class Qr {
    private Qr() {}

    public static BitMatrix encode(String text) {
        try {
            return new QRCodeWriter().encode(text, BarcodeFormat.QR_CODE, 0, 0,
                    // The quiet zone ISO/IEC 18004 asks for: 4 modules (with 2, detection failed now and then).
                    Map.of(EncodeHintType.ERROR_CORRECTION, ErrorCorrectionLevel.L, EncodeHintType.MARGIN, 4,
                            EncodeHintType.CHARACTER_SET, "UTF-8"));
        } catch (WriterException e) {
            throw new IllegalArgumentException("the configuration does not fit in a QR code", e);
        }
    }

    /** Two modules per character cell (upper and lower half blocks), dark on light. */
    public static String terminal(BitMatrix m) {
        StringBuilder sb = new StringBuilder();
        for (int y = 0; y < m.getHeight(); y += 2) {
            for (int x = 0; x < m.getWidth(); x++) {
                boolean top = m.get(x, y);
                boolean bottom = y + 1 < m.getHeight() && m.get(x, y + 1);
                sb.append(top ? (bottom ? ' ' : '▄') : (bottom ? '▀' : '█'));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    public static void png(BitMatrix m, Path file, int scale) throws IOException {
        BufferedImage img = new BufferedImage(m.getWidth() * scale, m.getHeight() * scale, BufferedImage.TYPE_BYTE_BINARY);
        for (int y = 0; y < img.getHeight(); y++)
            for (int x = 0; x < img.getWidth(); x++) img.setRGB(x, y, m.get(x / scale, y / scale) ? 0xff000000 : 0xffffffff);
        if (!ImageIO.write(img, "png", file.toFile())) throw new IOException("no PNG writer");
    }
}
