package storage

import (
	"context"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// compactRevKey records the last compaction so that several apiservers sharing
// one etcd compact once per interval between them, as upstream's do.
const compactRevKey = "compact_rev_key"

// compact compacts etcd to rev, the revision recorded one interval ago, if this
// apiserver wins the round. version is the version of compactRevKey this
// apiserver last saw. It returns the version and the revision to use next time.
func (s *Store) compact(ctx context.Context, version, rev int64) (int64, int64, error) {
	resp, err := s.kv.Txn(ctx).If(
		clientv3.Compare(clientv3.Version(compactRevKey), "=", version),
	).Then(
		clientv3.OpPut(compactRevKey, strconv.FormatInt(rev, 10)),
	).Else(
		clientv3.OpGet(compactRevKey),
	).Commit()
	if err != nil {
		return version, rev, err
	}
	cur := resp.Header.Revision
	if !resp.Succeeded {
		// Another apiserver compacted this round; follow its count.
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 {
			return 0, cur, nil
		}
		return kvs[0].Version, cur, nil
	}
	if rev == 0 {
		return version + 1, cur, nil
	}
	if _, err := s.kv.Compact(ctx, rev); err != nil {
		return version + 1, cur, err
	}
	s.log("compacted etcd to revision %d", rev)
	return version + 1, cur, nil
}
