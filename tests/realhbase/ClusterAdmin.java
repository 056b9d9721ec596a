// Region administration the Thrift1 gateway cannot do: pre-split tables,
// move and split regions, list region servers and region locations.
//
// Run by tests/realhbase/harness.py on the resolved HBase classpath, with the
// cluster's conf dir (hbase-site.xml) first on it:
//
//   java -cp CONF:JARS ClusterAdmin.java COMMAND ARGS...
//
// Row keys are hexadecimal on the command line and in the output (binary-safe).
// Commands (each prints one line per region or server, tab-separated):
//   servers MIN                 wait until MIN region servers are live; print them
//   create TABLE FAM=VERSIONS,... [SPLITHEX...]
//                               create TABLE split at the keys, make sure its regions
//                               are on more than one server (HBase assigns them
//                               round-robin), turn the balancer off so they stay
//                               there; print regions
//   regions TABLE               print the regions in key order
//   move TABLE ROWHEX           move the region holding ROW to another server; print regions
//   split TABLE KEYHEX          split the region holding KEY at KEY; wait; print regions
//   serve                       read such commands (without "java ...") one per line
//                               from stdin, answer each with its lines and then
//                               "END 0", or "ERR message" and "END 1" (one JVM and
//                               one HBase connection for many commands)
// A region line: START_HEX END_HEX REGION_ID ENCODED_NAME HOST PORT
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hbase.ClusterMetrics;
import org.apache.hadoop.hbase.HBaseConfiguration;
import org.apache.hadoop.hbase.HRegionLocation;
import org.apache.hadoop.hbase.ServerName;
import org.apache.hadoop.hbase.TableName;
import org.apache.hadoop.hbase.client.Admin;
import org.apache.hadoop.hbase.client.ColumnFamilyDescriptorBuilder;
import org.apache.hadoop.hbase.client.Connection;
import org.apache.hadoop.hbase.client.ConnectionFactory;
import org.apache.hadoop.hbase.client.RegionLocator;
import org.apache.hadoop.hbase.client.TableDescriptorBuilder;
import org.apache.hadoop.hbase.util.Bytes;

public class ClusterAdmin {
  static final long WAIT_MS = 120_000;

  public static void main(String[] args) throws Exception {
    if (args.length < 1 || (args.length < 2 && !args[0].equals("serve"))) {
      System.err.println("usage: ClusterAdmin servers MIN | create TABLE FAMS [SPLITS...] "
          + "| regions TABLE | move TABLE ROWHEX | split TABLE KEYHEX | serve");
      System.exit(2);
    }
    Configuration conf = HBaseConfiguration.create();
    conf.setInt("hbase.client.retries.number", 20);
    try (Connection conn = ConnectionFactory.createConnection(conf);
         Admin admin = conn.getAdmin()) {
      if (args[0].equals("serve")) {
        serve(conn, admin);
      } else {
        run(conn, admin, args);
      }
    }
  }

  static void serve(Connection conn, Admin admin) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) {
        continue;
      }
      try {
        run(conn, admin, line.trim().split("\\s+"));
        System.out.println("END 0");
      } catch (Exception e) {
        System.out.println("ERR " + String.valueOf(e).replace('\n', ' '));
        System.out.println("END 1");
      }
      System.out.flush();
    }
  }

  static void run(Connection conn, Admin admin, String[] args) throws Exception {
    switch (args[0]) {
      case "servers":
        for (ServerName sn : waitServers(admin, Integer.parseInt(args[1]))) {
          System.out.println(sn.getHostname() + "\t" + sn.getPort() + "\t" + sn);
        }
        break;
      case "create":
        create(conn, admin, TableName.valueOf(args[1]), args[2], args);
        printRegions(conn, TableName.valueOf(args[1]));
        break;
      case "regions":
        printRegions(conn, TableName.valueOf(args[1]));
        break;
      case "move":
        move(conn, admin, TableName.valueOf(args[1]), Bytes.fromHex(args[2]));
        printRegions(conn, TableName.valueOf(args[1]));
        break;
      case "split":
        split(conn, admin, TableName.valueOf(args[1]), Bytes.fromHex(args[2]));
        printRegions(conn, TableName.valueOf(args[1]));
        break;
      default:
        throw new IllegalArgumentException("unknown command " + args[0]);
    }
  }

  static List<ServerName> waitServers(Admin admin, int min) throws Exception {
    long end = System.currentTimeMillis() + WAIT_MS;
    while (true) {
      ClusterMetrics m = admin.getClusterMetrics(EnumSet.of(ClusterMetrics.Option.LIVE_SERVERS));
      List<ServerName> live = new ArrayList<>(m.getLiveServerMetrics().keySet());
      live.sort(null);
      if (live.size() >= min) {
        return live;
      }
      if (System.currentTimeMillis() > end) {
        throw new IllegalStateException("only " + live.size() + " region servers live: " + live);
      }
      Thread.sleep(250);
    }
  }

  static void create(Connection conn, Admin admin, TableName name, String families, String[] args)
      throws Exception {
    TableDescriptorBuilder desc = TableDescriptorBuilder.newBuilder(name);
    for (String fam : families.split(",")) {
      String[] kv = fam.split("=");
      ColumnFamilyDescriptorBuilder cf = ColumnFamilyDescriptorBuilder.newBuilder(Bytes.toBytes(kv[0]));
      if (kv.length > 1) {
        cf.setMaxVersions(Integer.parseInt(kv[1]));
      }
      desc.setColumnFamily(cf.build());
    }
    byte[][] splits = new byte[args.length - 3][];
    for (int i = 3; i < args.length; i++) {
      splits[i - 3] = Bytes.fromHex(args[i]);
    }
    admin.balancerSwitch(false, true);  // keep the layout the tests set up
    if (splits.length == 0) {
      admin.createTable(desc.build());
    } else {
      admin.createTable(desc.build(), splits);
    }
    // HBase assigns new regions round-robin already; move only if they all
    // landed on one server although there are several (every other region then).
    List<ServerName> servers = waitServers(admin, 1);
    List<HRegionLocation> regions = locations(conn, name);
    java.util.Set<ServerName> used = new java.util.HashSet<>();
    for (HRegionLocation loc : regions) {
      used.add(loc.getServerName());
    }
    if (used.size() >= Math.min(servers.size(), regions.size())) {
      return;
    }
    for (int i = 1; i < regions.size(); i += 2) {
      HRegionLocation loc = regions.get(i);
      for (ServerName sn : servers) {
        if (!sn.equals(loc.getServerName())) {
          admin.move(loc.getRegion().getEncodedNameAsBytes(), sn);
          break;
        }
      }
    }
  }

  static void move(Connection conn, Admin admin, TableName name, byte[] row) throws Exception {
    HRegionLocation loc = locate(conn, name, row);
    ServerName target = null;
    for (ServerName sn : waitServers(admin, 2)) {
      if (!sn.equals(loc.getServerName())) {
        target = sn;
        break;
      }
    }
    admin.move(loc.getRegion().getEncodedNameAsBytes(), target);
    long end = System.currentTimeMillis() + WAIT_MS;
    while (!target.equals(locate(conn, name, row).getServerName())) {
      if (System.currentTimeMillis() > end) {
        throw new IllegalStateException("region did not move to " + target);
      }
      Thread.sleep(200);
    }
  }

  static void split(Connection conn, Admin admin, TableName name, byte[] key) throws Exception {
    admin.split(name, key);
    long end = System.currentTimeMillis() + WAIT_MS;
    // done when a region starts at the key and every region (both daughters) is served
    while (true) {
      boolean started = false;
      boolean served = true;
      for (HRegionLocation loc : locations(conn, name)) {
        started |= Bytes.equals(loc.getRegion().getStartKey(), key);
        served &= loc.getServerName() != null;
      }
      if (started && served) {
        return;
      }
      if (System.currentTimeMillis() > end) {
        throw new IllegalStateException("the split at the key did not complete in time");
      }
      Thread.sleep(200);
    }
  }

  static HRegionLocation locate(Connection conn, TableName name, byte[] row) throws Exception {
    try (RegionLocator locator = conn.getRegionLocator(name)) {
      return locator.getRegionLocation(row, true);
    }
  }

  static List<HRegionLocation> locations(Connection conn, TableName name) throws Exception {
    try (RegionLocator locator = conn.getRegionLocator(name)) {
      locator.clearRegionLocationCache();
      List<HRegionLocation> all = new ArrayList<>();
      for (HRegionLocation loc : locator.getAllRegionLocations()) {
        if (!loc.getRegion().isSplitParent() && !loc.getRegion().isOffline()) {
          all.add(loc);
        }
      }
      all.sort((a, b) -> Bytes.compareTo(a.getRegion().getStartKey(), b.getRegion().getStartKey()));
      return all;
    }
  }

  static void printRegions(Connection conn, TableName name) throws Exception {
    for (HRegionLocation loc : locations(conn, name)) {
      ServerName sn = loc.getServerName();
      System.out.println(Bytes.toHex(loc.getRegion().getStartKey()) + "\t"
          + Bytes.toHex(loc.getRegion().getEndKey()) + "\t"
          + loc.getRegion().getRegionId() + "\t"
          + loc.getRegion().getEncodedName() + "\t"
          + (sn == null ? "" : sn.getHostname()) + "\t"
          + (sn == null ? "" : sn.getPort()));
    }
  }
}
