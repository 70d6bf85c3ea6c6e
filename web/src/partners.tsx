import { useEffect, useState } from "preact/hooks";
import { gql } from "./api";
import { PARTNERS } from "./queries";
import { STATUSES } from "./types";
import { titleCase } from "./util";

interface PartnershipNode {
  id: string;
  status: string;
  partner: { id: string; name: string };
  conversation: { id: string } | null;
}
type Page = { partners: { edges: { node: PartnershipNode }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };

export function PartnersView(props: { onMessage(p: { id: string; name: string; conversationId?: string }): void }) {
  const [status, setStatus] = useState("");
  const [search, setSearch] = useState("");
  const [items, setItems] = useState<PartnershipNode[]>([]);
  const [more, setMore] = useState<string | null>(null);
  const [error, setError] = useState("");

  const filter = () => ({
    ...(status ? { statuses: [status] } : {}),
    ...(search.trim() ? { search: search.trim() } : {}),
  });

  useEffect(() => {
    let current = true;
    const t = setTimeout(() => {
      gql<Page>(PARTNERS, { filter: filter() })
        .then((d) => {
          if (!current) return;
          setItems(d.partners.edges.map((e) => e.node));
          setMore(d.partners.pageInfo.hasNextPage ? d.partners.pageInfo.endCursor : null);
          setError("");
        })
        .catch((e: Error) => current && setError(e.message));
    }, 150);
    return () => {
      current = false;
      clearTimeout(t);
    };
  }, [status, search]);

  return (
    <main class="partners" aria-labelledby="partners-title">
      <h1 id="partners-title">Partners</h1>
      <div class="filters">
        <label>
          <span>Partnership status</span>
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">All statuses</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {titleCase(s)}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>Partner name</span>
          <input type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
      </div>
      {error && <p role="alert" class="error">{error}</p>}
      <ul aria-label="Partners" class="list partner-list">
        {items.map((p) => (
          <li key={p.id} class="partner">
            <span>
              <strong>{p.partner.name}</strong> <span class="muted">{titleCase(p.status)}</span>
            </span>
            <button
              type="button"
              onClick={() =>
                props.onMessage({ id: p.partner.id, name: p.partner.name, conversationId: p.conversation?.id })
              }
            >
              Message
            </button>
          </li>
        ))}
      </ul>
      {items.length === 0 && !error && <p class="muted">No partners match.</p>}
      {more && (
        <button
          type="button"
          class="more"
          onClick={() =>
            gql<Page>(PARTNERS, { filter: filter(), after: more }).then((d) => {
              setItems((old) => [...old, ...d.partners.edges.map((e) => e.node)]);
              setMore(d.partners.pageInfo.hasNextPage ? d.partners.pageInfo.endCursor : null);
            }).catch((e: Error) => setError(e.message))
          }
        >
          Load more partners
        </button>
      )}
    </main>
  );
}
