"""Pasted links: which are TikTok or Instagram posts, their normalised form, and what the refused ones say."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assetry.integrations import apify
from assetry.integrations.apify import (
    DUPLICATE,
    INSTAGRAM,
    INSTAGRAM_NOT_POST,
    INSTAGRAM_PROFILE,
    INSTAGRAM_STORY,
    MALFORMED,
    NOT_WEB,
    OTHER_SITE,
    TIKTOK,
    TIKTOK_NOT_POST,
    TIKTOK_PROFILE,
    TOO_LONG,
    TOO_MANY,
    instagram_post,
    parse_post_url,
    parse_post_urls,
    tiktok_post,
)
from assetry.integrations.social import HIDDEN, NOT_FOR_TYPE

VIDEO = "7350123456789012345"

ACCEPTED = [
    # TikTok posts, with tracking parameters, fragments, mobile hosts, no scheme, http.
    (
        f"https://www.tiktok.com/@maya.makes/video/{VIDEO}?is_from_webapp=1&sender_device=pc&lang=en",
        f"https://www.tiktok.com/@maya.makes/video/{VIDEO}",
        f"tiktok:{VIDEO}",
    ),
    (f"https://www.tiktok.com/@maya/video/{VIDEO}/", f"https://www.tiktok.com/@maya/video/{VIDEO}", None),
    (f"http://tiktok.com/@maya/video/{VIDEO}#comments", f"https://www.tiktok.com/@maya/video/{VIDEO}", None),
    (f"www.tiktok.com/@maya/video/{VIDEO}", f"https://www.tiktok.com/@maya/video/{VIDEO}", None),
    (f"HTTPS://WWW.TikTok.com/@maya/video/{VIDEO}", f"https://www.tiktok.com/@maya/video/{VIDEO}", None),
    (f"https://m.tiktok.com/@maya/video/{VIDEO}", f"https://www.tiktok.com/@maya/video/{VIDEO}", None),
    (
        f"https://m.tiktok.com/v/{VIDEO}.html?u_code=x",
        f"https://m.tiktok.com/v/{VIDEO}.html",
        f"tiktok:{VIDEO}",
    ),
    (f"https://www.tiktok.com/@maya/photo/{VIDEO}", f"https://www.tiktok.com/@maya/photo/{VIDEO}", None),
    (f"<https://www.tiktok.com/@maya/video/{VIDEO}>.", f"https://www.tiktok.com/@maya/video/{VIDEO}", None),
    (
        "https://vm.tiktok.com/ZMhvqXyZ1/",
        "https://vm.tiktok.com/ZMhvqXyZ1",
        "https://vm.tiktok.com/ZMhvqXyZ1",
    ),
    ("https://vt.tiktok.com/ZSabc123/?k=1", "https://vt.tiktok.com/ZSabc123", None),
    ("https://www.tiktok.com/t/ZTRabc123/", "https://www.tiktok.com/t/ZTRabc123", None),
    # Instagram posts, reels, IGTV, the newer /<user>/p/ form, the old short host.
    (
        "https://www.instagram.com/p/C3xYz_Ab-12/?utm_source=ig_web_copy_link&igsh=MzRlODBiNWFlZA==",
        "https://www.instagram.com/p/C3xYz_Ab-12/",
        "instagram:C3xYz_Ab-12",
    ),
    ("https://instagram.com/p/C3xYz_Ab-12", "https://www.instagram.com/p/C3xYz_Ab-12/", None),
    (
        "https://www.instagram.com/reel/C4aBcDeFgHi/?igsh=abc",
        "https://www.instagram.com/p/C4aBcDeFgHi/",
        None,
    ),
    ("https://www.instagram.com/reels/C4aBcDeFgHi/", "https://www.instagram.com/p/C4aBcDeFgHi/", None),
    ("https://www.instagram.com/tv/B9xYzAbCdEf/", "https://www.instagram.com/p/B9xYzAbCdEf/", None),
    ("https://www.instagram.com/maya.makes/p/C3xYz_Ab-12/", "https://www.instagram.com/p/C3xYz_Ab-12/", None),
    ("https://m.instagram.com/p/C3xYz_Ab-12/", "https://www.instagram.com/p/C3xYz_Ab-12/", None),
    ("instagr.am/p/C3xYz_Ab-12/", "https://www.instagram.com/p/C3xYz_Ab-12/", None),
]


@pytest.mark.parametrize(("pasted", "normalised", "key"), ACCEPTED)
def test_post_links_are_accepted_and_normalised(pasted: str, normalised: str, key: str | None) -> None:
    link = parse_post_url(pasted)
    assert (link.url, link.message) == (normalised, "")
    assert link.platform == (TIKTOK if "tiktok" in normalised else INSTAGRAM)
    assert link.ok
    if key:
        assert link.key == key


REFUSED = [
    ("https://www.tiktok.com/@maya.makes", TIKTOK_PROFILE, TIKTOK),
    ("https://www.tiktok.com/@maya.makes/?lang=en", TIKTOK_PROFILE, TIKTOK),
    ("https://www.tiktok.com/@maya/video/not-a-number", TIKTOK_NOT_POST, TIKTOK),
    ("https://www.tiktok.com/@maya/video/", TIKTOK_NOT_POST, TIKTOK),
    ("https://www.tiktok.com/tag/cooking", TIKTOK_NOT_POST, TIKTOK),
    ("https://www.tiktok.com/", TIKTOK_NOT_POST, TIKTOK),
    ("https://vm.tiktok.com/", TIKTOK_NOT_POST, TIKTOK),
    ("https://www.instagram.com/maya.makes/", INSTAGRAM_PROFILE, INSTAGRAM),
    ("https://www.instagram.com/stories/maya.makes/3312345678901234567/", INSTAGRAM_STORY, INSTAGRAM),
    ("https://www.instagram.com/explore/tags/food/", INSTAGRAM_NOT_POST, INSTAGRAM),
    ("https://www.instagram.com/p/", INSTAGRAM_NOT_POST, INSTAGRAM),
    ("https://www.instagram.com/p/ab/", INSTAGRAM_NOT_POST, INSTAGRAM),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", OTHER_SITE, None),
    ("https://tiktok.com.evil.example/@maya/video/1", OTHER_SITE, None),
    ("https://www.tiktok.com@evil.example/@maya/video/1", OTHER_SITE, None),
    ("ftp://www.tiktok.com/@maya/video/1", NOT_WEB, None),
    ("javascript:alert(1)", NOT_WEB, None),
    ("mailto:maya@example.com", NOT_WEB, None),
    ("just some words", MALFORMED, None),
    ("hello", MALFORMED, None),
    ("https://", MALFORMED, None),
    ("https://www.tiktok.com:abc/@maya/video/1", MALFORMED, None),
    ("https://[::1/p/x", MALFORMED, None),
    ("https://www.instagram.com/p/" + "A" * 2100, TOO_LONG, None),
]


@pytest.mark.parametrize(("pasted", "message", "platform"), REFUSED)
def test_other_links_are_refused_with_a_reason(pasted: str, message: str, platform: str | None) -> None:
    link = parse_post_url(pasted)
    assert (link.url, link.message, link.platform) == (None, message, platform)
    assert not link.ok
    assert link.input == pasted


def test_a_pasted_block_gives_one_answer_per_link_and_tracks_each_post_once() -> None:
    pasted = f"""
        https://www.tiktok.com/@maya/video/{VIDEO}?lang=en,
        https://m.tiktok.com/v/{VIDEO}.html ; https://www.instagram.com/reel/C4aBcDeFgHi/
        https://www.instagram.com/p/C4aBcDeFgHi/?igsh=1   https://www.youtube.com/watch?v=1

        https://www.tiktok.com/@maya
    """
    links = parse_post_urls(pasted)
    assert [(link.url, link.message) for link in links] == [
        (f"https://www.tiktok.com/@maya/video/{VIDEO}", ""),
        (None, DUPLICATE),
        ("https://www.instagram.com/p/C4aBcDeFgHi/", ""),
        (None, DUPLICATE),
        (None, OTHER_SITE),
        (None, TIKTOK_PROFILE),
    ]
    assert links[1].input == f"https://m.tiktok.com/v/{VIDEO}.html"


def test_empty_paste_gives_nothing() -> None:
    assert parse_post_urls("  \n , ;\n") == []


def test_more_than_the_limit_is_refused_past_it() -> None:
    pasted = "\n".join(
        f"https://www.tiktok.com/@maya/video/{7000 + n}" for n in range(apify.MAX_URLS_PER_PASTE + 3)
    )
    links = parse_post_urls(pasted)
    assert sum(link.ok for link in links) == apify.MAX_URLS_PER_PASTE
    assert [link.message for link in links[-3:]] == [TOO_MANY] * 3


# ----- items to posts (pure) -------------------------------------------------


def test_a_tiktok_item_becomes_a_post_with_every_public_number() -> None:
    post = tiktok_post(
        {
            "id": VIDEO,
            "text": "Three-minute pasta #cooking",
            "createTime": 1714563296,
            "webVideoUrl": f"https://www.tiktok.com/@maya/video/{VIDEO}",
            "playCount": 120400,
            "diggCount": 9100,
            "shareCount": 310,
            "commentCount": 88,
            "collectCount": 1450,
            "authorMeta": {"name": "maya"},
            "videoMeta": {"coverUrl": "https://cdn.example/c.jpg", "duration": 31},
        }
    )
    assert post.platform_id == VIDEO
    assert post.created_at == datetime(2024, 5, 1, 11, 34, 56, tzinfo=UTC)
    assert (post.title, post.author, post.duration_s, post.media_type) == (
        "Three-minute pasta #cooking",
        "maya",
        31.0,
        "video",
    )
    assert post.metrics == {"views": 120400, "likes": 9100, "comments": 88, "shares": 310, "saves": 1450}
    assert post.missing == {}


def test_an_instagram_photo_has_no_views_and_hidden_likes_say_so() -> None:
    post = instagram_post(
        {
            "id": "3312345678901234567",
            "shortCode": "C3xYz_Ab-12",
            "url": "https://www.instagram.com/p/C3xYz_Ab-12/",
            "type": "Image",
            "caption": "Sunday market",
            "timestamp": "2024-05-01T11:34:56.000Z",
            "likesCount": -1,
            "commentsCount": 12,
            "displayUrl": "https://cdn.example/p.jpg",
            "ownerUsername": "maya.makes",
        }
    )
    assert post.metrics == {"comments": 12}
    assert post.missing == {
        "views": NOT_FOR_TYPE,
        "likes": HIDDEN,
        "shares": apify.NOT_PUBLIC,
        "saves": apify.NOT_PUBLIC,
    }
    assert (post.media_type, post.author, post.created_at) == (
        "image",
        "maya.makes",
        datetime(2024, 5, 1, 11, 34, 56, tzinfo=UTC),
    )


def test_an_instagram_reel_counts_plays_as_views() -> None:
    base = {"id": "1", "shortCode": "C4aBcDeFgHi", "type": "Video", "productType": "clips"}
    base |= {"timestamp": "2024-05-01T11:34:56Z", "likesCount": 5, "commentsCount": 1}
    assert instagram_post(base | {"videoPlayCount": 900, "videoViewCount": 400}).metrics["views"] == 900
    assert instagram_post(base | {"videoViewCount": 400}).metrics["views"] == 400
    assert instagram_post(base).missing["views"] == apify.NOT_PUBLIC
    assert instagram_post(base).media_type == "reel"


@pytest.mark.parametrize(
    "broken",
    [
        {"createTime": None},
        {"id": None},
        {"playCount": "12K"},
        {"diggCount": 3.5},
        {"commentCount": True},
        {"createTime": "yesterday"},
    ],
)
def test_a_broken_tiktok_item_is_refused_not_guessed(broken: dict) -> None:
    item = {"id": VIDEO, "createTime": 1714563296, "playCount": 1, "diggCount": 1, "commentCount": 1}
    with pytest.raises((KeyError, ValueError, TypeError)):
        tiktok_post(item | broken)


def test_words_are_one_entry_with_one_message_and_links_split_only_on_lines_and_commas() -> None:
    pasted = f"not a url at all\nhttps://www.tiktok.com/@maya/video/{VIDEO}, hello world"
    links = parse_post_urls(pasted)
    assert [(link.input, link.url, link.message) for link in links] == [
        ("not a url at all", None, MALFORMED),
        (f"https://www.tiktok.com/@maya/video/{VIDEO}", f"https://www.tiktok.com/@maya/video/{VIDEO}", ""),
        ("hello world", None, MALFORMED),
    ]


def test_a_line_of_addresses_separated_by_spaces_is_still_one_entry_each() -> None:
    links = parse_post_urls(f"www.tiktok.com/@maya/video/{VIDEO}  instagram.com/p/C4aBcDeFgHi")
    assert [link.url for link in links] == [
        f"https://www.tiktok.com/@maya/video/{VIDEO}",
        "https://www.instagram.com/p/C4aBcDeFgHi/",
    ]
