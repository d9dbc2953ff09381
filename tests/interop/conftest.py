from tests.e2e.conftest import installation as installation  # the whole-installation fixture
