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
//                               create TABLE split at the keys, spread its regions
//                               over the live servers round-robin, turn the
//                               balancer off so they stay there; print regions
//   regions TABLE               print the regions in key order
//   move TABLE ROWHEX           move the region holding ROW to another server; print regions
//   split TABLE KEYHEX          split the region holding KEY at KEY; wait; print regions
// A region line: START_HEX END_HEX REGION_ID ENCODED_NAME HOST PORT
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
    if (args.length < 2) {
      System.err.println("usage: ClusterAdmin servers MIN | create TABLE FAMS [SPLITS...] "
          + "| regions TABLE | move TABLE ROWHEX | split TABLE KEYHEX");
      System.exit(2);
    }
    Configuration conf = HBaseConfiguration.create();
    conf.setInt("hbase.client.retries.number", 20);
    try (Connection conn = ConnectionFactory.createConnection(conf);
         Admin admin = conn.getAdmin()) {
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
          System.err.println("unknown command " + args[0]);
          System.exit(2);
      }
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
    List<ServerName> servers = waitServers(admin, 1);
    List<HRegionLocation> regions = locations(conn, name);
    for (int i = 0; i < regions.size(); i++) {
      ServerName target = servers.get(i % servers.size());
      HRegionLocation loc = regions.get(i);
      if (!target.equals(loc.getServerName())) {
        admin.move(loc.getRegion().getEncodedNameAsBytes(), target);
      }
    }
    long end = System.currentTimeMillis() + WAIT_MS;
    for (int i = 0; i < regions.size(); ) {
      ServerName target = servers.get(i % servers.size());
      if (target.equals(locations(conn, name).get(i).getServerName())) {
        i++;
      } else if (System.currentTimeMillis() > end) {
        throw new IllegalStateException("region " + i + " did not reach " + target);
      } else {
        Thread.sleep(200);
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
    while (true) {
      HRegionLocation loc = locate(conn, name, key);
      if (Bytes.equals(loc.getRegion().getStartKey(), key) && loc.getServerName() != null) {
        return;
      }
      if (System.currentTimeMillis() > end) {
        throw new IllegalStateException("no region starts at the split key yet");
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
