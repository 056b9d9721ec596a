// A loopback Kerberos KDC for the txhbase tests (tests/realhbase/kerberos.py).
//
// java -cp <classpath with org.apache.kerby:kerb-simplekdc> Kdc.java WORKDIR REALM PORT PRINCIPAL...
//
// Starts Kerby's SimpleKdcServer on 127.0.0.1:PORT (TCP only), creates each
// PRINCIPAL with a random key and exports it to WORKDIR/<principal with '/'
// replaced by '_'>.keytab (one principal per keytab), writes WORKDIR/krb5.conf,
// then prints "KDC READY" and serves until killed.
import java.io.File;
import org.apache.kerby.kerberos.kerb.server.SimpleKdcServer;

public class Kdc {
    public static void main(String[] args) throws Exception {
        File dir = new File(args[0]);
        String realm = args[1];
        SimpleKdcServer kdc = new SimpleKdcServer();
        kdc.setWorkDir(dir);
        kdc.setKdcRealm(realm);
        kdc.setKdcHost("127.0.0.1");
        kdc.setAllowUdp(false);
        kdc.setAllowTcp(true);
        kdc.setKdcTcpPort(Integer.parseInt(args[2]));
        kdc.init();
        for (int i = 3; i < args.length; i++) {
            String principal = args[i] + "@" + realm;
            kdc.createPrincipal(principal, "txhbase-" + args[i].replace('/', '_'));
            File keytab = new File(dir, args[i].replace('/', '_') + ".keytab");
            kdc.getKadmin().exportKeytab(keytab, principal);
        }
        kdc.start();
        System.out.println("KDC READY");
        System.out.flush();
        Thread.currentThread().join();
    }
}
