"""Ownership resolution over the registry: who owns whom, up to the ultimate owners, which
owners are states, and which listings pass down to subsidiaries and affiliates.

The graph is a networkx ``DiGraph`` with an edge owner -> owned for every current
ownership link (links with `until` are history, not control). Two rules decide what passes
down a chain, and every inherited listing names the rule that carried it:

* ``list-affiliate-clause`` - the list itself covers "any subsidiary or affiliate"
  (`covers_affiliates` in the list catalogue, e.g. the FCC Covered List and NDAA section
  889): a listing of a controlling owner applies to what it controls.
* ``policy-control`` - a screening policy may extend that to further lists for parties it
  controls (`inherit.lists` in the policy file), as sanctions practice does with its
  control rules.

A link controls when the source says so (`controlling: true`) or the share reaches the
registry's `control_min_share`. Unverified links are walked and shown, but carry control
only when the registry counts unverified facts.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import networkx as nx

if TYPE_CHECKING:
    from vendorwatch.intel.registry import Listing, Party, RegistryData

Rule = Literal["list-affiliate-clause", "policy-control"]


@dataclass(frozen=True)
class ChainLink:
    """One current ownership link on the way up from a party."""

    owner: str
    owned: str
    depth: int
    share: float | None
    controlling: bool
    counted: bool  # verified, or unverified facts are counted
    verified: bool
    since: str | None
    source_url: str


@dataclass(frozen=True)
class ListingPath:
    """A listing that applies to a party: directly (`via` None) or through an owner."""

    listing: Listing
    party: str  # the party the listing names
    via: str | None
    rule: Rule | None
    path: tuple[str, ...]  # the party, its owners up to the listed one


class OwnershipGraph:
    """The ownership links of a registry as a graph, with the resolution rules."""

    def __init__(self, data: RegistryData) -> None:
        self.parties: dict[str, Party] = {
            p.id: p for p in (*data.makers, *data.organisations)
        }
        self.control_min_share = data.risk.control_min_share
        self.state_owned_min_share = data.risk.state_owned_min_share
        self.count_unverified = data.risk.count_unverified
        self.affiliate_lists = frozenset(d.id for d in data.lists if d.covers_affiliates)
        self.state_link_lists = frozenset(data.risk.state_link_lists)
        self.graph: nx.DiGraph[str] = nx.DiGraph()
        self.graph.add_nodes_from(self.parties)
        for party in self.parties.values():
            for link in party.ownership:
                if link.until is not None or link.owner not in self.parties:
                    continue
                controlling = link.controlling or (
                    link.share is not None and link.share >= self.control_min_share
                )
                self.graph.add_edge(
                    link.owner, party.id, share=link.share, controlling=controlling,
                    counted=link.verified or self.count_unverified, verified=link.verified,
                    since=link.since, source_url=link.source_url,
                )
        self.control: nx.DiGraph[str] = nx.DiGraph()
        self.control.add_nodes_from(self.parties)
        self.control.add_edges_from(
            (u, v) for u, v, d in self.graph.edges(data=True) if d["controlling"] and d["counted"]
        )

    # -- walking up ---------------------------------------------------------------------

    def chain(self, party_id: str) -> list[ChainLink]:
        """Every current owner link up from the party, nearest first (breadth-first)."""
        if party_id not in self.graph:
            return []
        links: list[ChainLink] = []
        seen = {party_id}
        for depth, layer in enumerate(nx.bfs_layers(self.graph.reverse(copy=False), party_id)):
            for owned in layer:
                for owner in self.graph.predecessors(owned):
                    if owner in seen:
                        continue
                    seen.add(owner)
                    links.append(self._link(owner, owned, depth + 1))
        return links

    def _link(self, owner: str, owned: str, depth: int) -> ChainLink:
        d: dict[str, Any] = self.graph.edges[owner, owned]
        return ChainLink(owner, owned, depth, d["share"], d["controlling"], d["counted"],
                         d["verified"], d["since"], d["source_url"])

    def controllers(self, party_id: str) -> list[str]:
        """Parties controlling `party_id` directly or up a chain of controlling links,
        nearest first."""
        if party_id not in self.control:
            return []
        lengths = nx.single_source_shortest_path_length(self.control.reverse(copy=False),
                                                        party_id)
        nearest = sorted(lengths.items(), key=lambda kv: (kv[1], kv[0]))
        return [p for p, _ in nearest if p != party_id]

    def ultimate_owners(self, party_id: str) -> list[str]:
        """The top of each controlling chain: controllers with no controller of their own.
        A party nobody controls is its own ultimate owner."""
        if party_id not in self.control:
            return []
        tops = [p for p in self.controllers(party_id) if self.control.in_degree(p) == 0]
        return tops or [party_id]

    def control_path(self, party_id: str, owner: str) -> tuple[str, ...]:
        """The party, then each controlling owner up to `owner`."""
        path = nx.shortest_path(self.control, owner, party_id)
        return tuple(reversed(path))

    # -- state ownership ----------------------------------------------------------------

    def state_controlled(self, party_id: str) -> bool:
        """The party, or an owner controlling it (up the chain), is state-owned."""
        return any(self.parties[p].state_owned is True
                   for p in (party_id, *self.controllers(party_id)) if p in self.parties)

    def state_controllers(self, party_id: str) -> list[str]:
        """The state-owned parties among the party and its controllers."""
        return [p for p in (party_id, *self.controllers(party_id))
                if p in self.parties and self.parties[p].state_owned is True]

    def state_linked(self, party_id: str) -> bool:
        """State-controlled; or it or a controller is on a state-link list (a military-
        company list); or it or a controller has a state-controlled shareholder holding at
        least `state_owned_min_share` percent."""
        if party_id not in self.parties:
            return False
        for member in (party_id, *self.controllers(party_id)):
            if self.state_controlled(member):
                return True
            party = self.parties[member]
            if any(x.list_id in self.state_link_lists and self._counts(x.verified)
                   for x in party.listings):
                return True
            for owner in self.graph.predecessors(member):
                d: dict[str, Any] = self.graph.edges[owner, member]
                big = d["controlling"] or (d["share"] or 0) >= self.state_owned_min_share
                if d["counted"] and big and self.state_controlled(owner):
                    return True
        return False

    def _counts(self, verified: bool) -> bool:
        return verified or self.count_unverified

    # -- listings -------------------------------------------------------------------------

    def listings(self, party_id: str, policy_lists: Collection[str] = ()) -> list[ListingPath]:
        """The party's own listings, then those of its controllers that pass down by the
        list's affiliate clause or by the policy's control rule (`policy_lists`); a list
        the party is on itself is not inherited again."""
        party = self.parties.get(party_id)
        if party is None:
            return []
        own = [ListingPath(x, party_id, None, None, (party_id,)) for x in party.listings]
        direct = {x.list_id for x in party.listings}
        return own + list(self._inherited(party_id, direct, set(policy_lists)))

    def _inherited(
        self, party_id: str, direct: set[str], policy_lists: set[str]
    ) -> Iterator[ListingPath]:
        for owner in self.controllers(party_id):
            for listing in self.parties[owner].listings:
                if listing.list_id in direct:
                    continue
                rule: Rule | None = (
                    "list-affiliate-clause" if listing.list_id in self.affiliate_lists
                    else "policy-control" if listing.list_id in policy_lists else None
                )
                if rule is not None:
                    yield ListingPath(listing, owner, owner, rule,
                                      self.control_path(party_id, owner))
