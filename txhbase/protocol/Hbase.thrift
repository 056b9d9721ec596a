// Hbase.thrift: the Thrift1 interface of Apache HBase's `Hbase` service,
// written for txhbase and kept wire-identical to HBase 2.6 (same field ids,
// types and method names).  The comments are ours; where they disagree with
// the upstream IDL's comments, they follow what the server really does.

namespace py hbase
namespace java org.apache.hadoop.hbase.thrift.generated

// Row keys, column names, values and table names are raw bytes.
typedef binary Text
typedef binary Bytes
typedef i32    ScannerID

// One cell version: its value and its timestamp in ms.
struct TCell {
  1: Bytes value,
  2: i64 timestamp
}

// A column family's settings.  `name` may end in ':' (stripped by the server).
// timeToLive is in seconds; 2147483647 (or <= 0 on create) means forever.
struct ColumnDescriptor {
  1: Text name,
  2: i32 maxVersions = 3,
  3: string compression = "NONE",
  4: bool inMemory = 0,
  5: string bloomFilterType = "NONE",
  6: i32 bloomFilterVectorSize = 0,
  7: i32 bloomFilterNbHashes = 0,
  8: bool blockCacheEnabled = 0,
  9: i32 timeToLive = 0x7fffffff
}

// A region of a table: rows in [startKey, endKey), "" meaning unbounded.
struct TRegionInfo {
  1: Text startKey,
  2: Text endKey,
  3: i64 id,
  4: Text name,
  5: byte version,
  6: Text serverName,
  7: i32 port
}

// One put (isDelete false) or delete of `column` ("cf", "cf:" or "cf:q").
// A null value is stored as empty bytes.
struct Mutation {
  1: bool isDelete = 0,
  2: Text column,
  3: Text value,
  4: bool writeToWAL = 1
}

// The mutations of one row, for mutateRows.
struct BatchMutation {
  1: Text row,
  2: list<Mutation> mutations
}

// An increment of one counter column (the field name's spelling is HBase's).
struct TIncrement {
  1: Text table,
  2: Text row,
  3: Text column,
  4: i64 ammount
}

// A column name with its cell, for sorted results.
struct TColumn {
  1: Text columnName,
  2: TCell cell
}

// One row of a result: `columns` keyed "fam:qual", or `sortedColumns` when
// the scan asked for sortColumns.
struct TRowResult {
  1: Text row,
  2: optional map<Text, TCell> columns,
  3: optional list<TColumn> sortedColumns
}

// Scanner options; only the fields that are set are applied.  timestamp
// selects the time range [0, timestamp).  batchSize splits wide rows.
struct TScan {
  1: optional Text startRow,
  2: optional Text stopRow,
  3: optional i64 timestamp,
  4: optional list<Text> columns,
  5: optional i32 caching,
  6: optional Text filterString,
  7: optional i32 batchSize,
  8: optional bool sortColumns,
  9: optional bool reversed,
  10: optional bool cacheBlocks
}

// Appends values[i] to columns[i] of one row.
struct TAppend {
  1: Text table,
  2: Text row,
  3: list<Text> columns,
  4: list<Text> values
}

// A server-side failure; message carries the Java stack trace.  canRetry is
// false for errors that will not go away by trying again (missing table,
// missing family, table in the wrong state, ...).
exception IOError {
  1: string message,
  2: bool canRetry
}

// A bad argument, e.g. an unknown scanner id or a bad family descriptor.
exception IllegalArgument {
  1: string message
}

// createTable of a table that exists.
exception AlreadyExists {
  1: string message
}

// Which Thrift gateway answers: ONE is this service, TWO the thrift2 one.
enum TThriftServerType {
  ONE = 1,
  TWO = 2
}

service Hbase {
  // --- table administration ---

  // Enable a table; IOError if it is missing or already enabled.
  void enableTable(1: Bytes tableName) throws (1: IOError io)

  // Disable a table; IOError if it is missing or already disabled.
  void disableTable(1: Bytes tableName) throws (1: IOError io)

  // True when the table is enabled; IOError if it is missing.
  bool isTableEnabled(1: Bytes tableName) throws (1: IOError io)

  // Ask for a (minor) compaction of a table or region; returns at once.
  void compact(1: Bytes tableNameOrRegionName) throws (1: IOError io)

  // Ask for a major compaction of a table or region; returns at once.
  void majorCompact(1: Bytes tableNameOrRegionName) throws (1: IOError io)

  // Names of the user tables.
  list<Text> getTableNames() throws (1: IOError io)

  // Names of the user tables mapped to whether each is enabled.
  map<Text, bool> getTableNamesWithIsTableEnabled() throws (1: IOError io)

  // The table's families, keyed "family:".
  map<Text, ColumnDescriptor> getColumnDescriptors(1: Text tableName)
    throws (1: IOError io)

  // The table's regions in key order; [] for a missing table.
  list<TRegionInfo> getTableRegions(1: Text tableName) throws (1: IOError io)

  // Create a table; AlreadyExists if it exists, IllegalArgument for a bad
  // family (empty name, unknown compression or bloom type, duplicate).
  void createTable(1: Text tableName, 2: list<ColumnDescriptor> columnFamilies)
    throws (1: IOError io, 2: IllegalArgument ia, 3: AlreadyExists exist)

  // Delete a disabled table; IOError if it is missing or still enabled.
  void deleteTable(1: Text tableName) throws (1: IOError io)

  // --- reads ---

  // Latest version of one column; [] when absent.
  list<TCell> get(1: Text tableName, 2: Text row, 3: Text column,
                  4: map<Text, Text> attributes)
    throws (1: IOError io)

  // Up to numVersions versions of one column, newest first.
  list<TCell> getVer(1: Text tableName, 2: Text row, 3: Text column,
                     4: i32 numVersions, 5: map<Text, Text> attributes)
    throws (1: IOError io)

  // As getVer, versions with timestamp strictly less than `timestamp`.
  list<TCell> getVerTs(1: Text tableName, 2: Text row, 3: Text column,
                       4: i64 timestamp, 5: i32 numVersions,
                       6: map<Text, Text> attributes)
    throws (1: IOError io)

  // The whole row at its latest versions; [] when the row is absent.
  list<TRowResult> getRow(1: Text tableName, 2: Text row,
                          3: map<Text, Text> attributes)
    throws (1: IOError io)

  // The given columns (null or [] = all) of one row.
  list<TRowResult> getRowWithColumns(1: Text tableName, 2: Text row,
                                     3: list<Text> columns,
                                     4: map<Text, Text> attributes)
    throws (1: IOError io)

  // The whole row, versions with timestamp < `timestamp`.
  list<TRowResult> getRowTs(1: Text tableName, 2: Text row, 3: i64 timestamp,
                            4: map<Text, Text> attributes)
    throws (1: IOError io)

  // The given columns of one row, versions with timestamp < `timestamp`.
  list<TRowResult> getRowWithColumnsTs(1: Text tableName, 2: Text row,
                                       3: list<Text> columns, 4: i64 timestamp,
                                       5: map<Text, Text> attributes)
    throws (1: IOError io)

  // Several rows in request order; missing rows dropped, duplicates kept.
  list<TRowResult> getRows(1: Text tableName, 2: list<Text> rows,
                           3: map<Text, Text> attributes)
    throws (1: IOError io)

  // Several rows, given columns only.
  list<TRowResult> getRowsWithColumns(1: Text tableName, 2: list<Text> rows,
                                      3: list<Text> columns,
                                      4: map<Text, Text> attributes)
    throws (1: IOError io)

  // Several rows, versions with timestamp < `timestamp`.
  list<TRowResult> getRowsTs(1: Text tableName, 2: list<Text> rows,
                             3: i64 timestamp, 4: map<Text, Text> attributes)
    throws (1: IOError io)

  // Several rows, given columns, versions with timestamp < `timestamp`.
  list<TRowResult> getRowsWithColumnsTs(1: Text tableName, 2: list<Text> rows,
                                        3: list<Text> columns, 4: i64 timestamp,
                                        5: map<Text, Text> attributes)
    throws (1: IOError io)

  // --- writes ---

  // Apply one row's mutations at server time: the deletes, then the puts
  // (not atomic).  A put to a bare family name is ignored.
  void mutateRow(1: Text tableName, 2: Text row, 3: list<Mutation> mutations,
                 4: map<Text, Text> attributes)
    throws (1: IOError io, 2: IllegalArgument ia)

  // As mutateRow with the given timestamp (deletes remove versions <= it).
  void mutateRowTs(1: Text tableName, 2: Text row, 3: list<Mutation> mutations,
                   4: i64 timestamp, 5: map<Text, Text> attributes)
    throws (1: IOError io, 2: IllegalArgument ia)

  // Mutations of several rows: every put first, then every delete.
  void mutateRows(1: Text tableName, 2: list<BatchMutation> rowBatches,
                  3: map<Text, Text> attributes)
    throws (1: IOError io, 2: IllegalArgument ia)

  // As mutateRows with the given timestamp.
  void mutateRowsTs(1: Text tableName, 2: list<BatchMutation> rowBatches,
                    3: i64 timestamp, 4: map<Text, Text> attributes)
    throws (1: IOError io, 2: IllegalArgument ia)

  // Add `value` to an 8-byte big-endian counter and return the new value;
  // a bare family means the empty qualifier.
  i64 atomicIncrement(1: Text tableName, 2: Text row, 3: Text column,
                      4: i64 value)
    throws (1: IOError io, 2: IllegalArgument ia)

  // Delete a column ("cf:q": all its versions) or a family ("cf").
  void deleteAll(1: Text tableName, 2: Text row, 3: Text column,
                 4: map<Text, Text> attributes)
    throws (1: IOError io)

  // As deleteAll, versions with timestamp <= `timestamp`.
  void deleteAllTs(1: Text tableName, 2: Text row, 3: Text column,
                   4: i64 timestamp, 5: map<Text, Text> attributes)
    throws (1: IOError io)

  // Delete every cell of a row.
  void deleteAllRow(1: Text tableName, 2: Text row,
                    3: map<Text, Text> attributes)
    throws (1: IOError io)

  // Apply one increment; returns nothing.
  void increment(1: TIncrement increment) throws (1: IOError io)

  // Apply several increments; returns nothing.
  void incrementRows(1: list<TIncrement> increments) throws (1: IOError io)

  // Delete every cell of a row with timestamp <= `timestamp`.
  void deleteAllRowTs(1: Text tableName, 2: Text row, 3: i64 timestamp,
                      4: map<Text, Text> attributes)
    throws (1: IOError io)

  // --- scanners ---

  // Open a scanner from a TScan; returns its id.
  ScannerID scannerOpenWithScan(1: Text tableName, 2: TScan scan,
                                3: map<Text, Text> attributes)
    throws (1: IOError io)

  // Open a scanner from startRow ("" = first row) to the end.
  ScannerID scannerOpen(1: Text tableName, 2: Text startRow,
                        3: list<Text> columns, 4: map<Text, Text> attributes)
    throws (1: IOError io)

  // Open a scanner over [startRow, stopRow).
  ScannerID scannerOpenWithStop(1: Text tableName, 2: Text startRow,
                                3: Text stopRow, 4: list<Text> columns,
                                5: map<Text, Text> attributes)
    throws (1: IOError io)

  // Open a scanner over the rows that start with the prefix.
  ScannerID scannerOpenWithPrefix(1: Text tableName, 2: Text startAndPrefix,
                                  3: list<Text> columns,
                                  4: map<Text, Text> attributes)
    throws (1: IOError io)

  // As scannerOpen, versions with timestamp < `timestamp`.
  ScannerID scannerOpenTs(1: Text tableName, 2: Text startRow,
                          3: list<Text> columns, 4: i64 timestamp,
                          5: map<Text, Text> attributes)
    throws (1: IOError io)

  // As scannerOpenWithStop, versions with timestamp < `timestamp`.
  ScannerID scannerOpenWithStopTs(1: Text tableName, 2: Text startRow,
                                  3: Text stopRow, 4: list<Text> columns,
                                  5: i64 timestamp,
                                  6: map<Text, Text> attributes)
    throws (1: IOError io)

  // The next row; [] at the end (and on every later call).
  list<TRowResult> scannerGet(1: ScannerID id)
    throws (1: IOError io, 2: IllegalArgument ia)

  // Up to nbRows next rows; [] at the end (and on every later call).
  list<TRowResult> scannerGetList(1: ScannerID id, 2: i32 nbRows)
    throws (1: IOError io, 2: IllegalArgument ia)

  // Release a scanner; IllegalArgument for an unknown id.
  void scannerClose(1: ScannerID id)
    throws (1: IOError io, 2: IllegalArgument ia)

  // The region of hbase:meta that holds the given meta row key.
  TRegionInfo getRegionInfo(1: Text row) throws (1: IOError io)

  // Append to columns of a row; returns the cells after the append.
  list<TCell> append(1: TAppend append) throws (1: IOError io)

  // Put `mput` if the column equals `value` (or, value unset, is absent).
  bool checkAndPut(1: Text tableName, 2: Text row, 3: Text column,
                   5: Text value, 6: Mutation mput,
                   7: map<Text, Text> attributes)
    throws (1: IOError io, 2: IllegalArgument ia)

  // --- server ---

  // ONE for this gateway.
  TThriftServerType getThriftServerType()

  // The cluster's id.
  string getClusterId()

  // No grant/revoke here: HBase 2.6's Thrift1 service does not have them
  // (its generated Hbase.Iface lacks them); a 2.6 gateway answers them
  // with UNKNOWN_METHOD.
}
