"""Paths no route matches: the API answers in JSON with its stable code, pages stay HTML."""


def test_an_api_path_no_route_matches_answers_json_not_found(client) -> None:
    response = client.get("/api/rooms/1/2/3")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    page = client.get("/no/such/page")
    assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")
